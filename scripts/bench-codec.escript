#!/usr/bin/env escript
%% -*- erlang -*-
%%! -noshell
%% Makes the benchmark payloads, writes each term_to_binary/1 output to DIR/NAME.etf (when
%% asked), and times this runtime's binary_to_term/1 and term_to_binary/1 on them: the median
%% of RUNS runs, each in a fresh process (timer:tc, microseconds). Used by scripts/bench-codec.
%% Usage: escript bench-codec.escript DIR RUNS write|nowrite
%% Interpreted (the minimal OTP 28 runtime has no compiler), so the timed call is a plain
%% timer:tc(M, F, A) and the spawned fun is made where only M, F and A are bound: an
%% interpreted fun holds every binding in scope, and one made in main/1 would drag the payload's
%% term into every fresh process, to be copied and collected around the timed call.
-mode(interpret).

main([Dir, RunsText, Write]) ->
    Runs = list_to_integer(RunsText),
    lists:foreach(fun({Name, Make}) ->
        Term = Make(),
        Bytes = term_to_binary(Term),
        Write =:= "write" andalso (ok =:= file:write_file(filename:join(Dir, Name ++ ".etf"), Bytes)),
        Decode = median([in_fresh_process(erlang, binary_to_term, [Bytes]) || _ <- lists:seq(1, Runs)]),
        Encode = median([in_fresh_process(erlang, term_to_binary, [Term]) || _ <- lists:seq(1, Runs)]),
        io:format("~s\t~b\t~b\t~b~n", [Name, byte_size(Bytes), Decode, Encode])
    end, payloads()).

payloads() ->
    [{"list_1m_small_ints", fun() -> [X rem 1000 || X <- lists:seq(1, 1000000)] end},
     {"list_100k_pids", fun() -> [list_to_pid("<0." ++ integer_to_list(X rem 32768) ++ "." ++ integer_to_list(X div 32768) ++ ">") || X <- lists:seq(1, 100000)] end},
     {"map_100k_binary_keys", fun() -> maps:from_list([{integer_to_binary(X), X} || X <- lists:seq(1, 100000)]) end},
     {"binary_100mb", fun() -> binary:copy(<<"0123456789abcdef">>, 6553600) end},
     {"tuple_10k_deep", fun() -> lists:foldl(fun(X, A) -> {X, A} end, {}, lists:seq(1, 10000)) end}].

%% The arguments are copied to the new process before the clock starts.
in_fresh_process(M, F, A) ->
    Self = self(),
    {Pid, Ref} = spawn_monitor(fun() -> {T, _} = timer:tc(M, F, A), Self ! {self(), T} end),
    receive {Pid, T} -> receive {'DOWN', Ref, _, _, _} -> T end end.

median(Xs) -> lists:nth((length(Xs) + 1) div 2, lists:sort(Xs)).
