print("beamsh")
