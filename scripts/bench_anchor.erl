%% The BEAM side of scripts/bench-distribution and scripts/bench-cluster, compiled (erlc) by
%% them before use: code run through `erl -eval` is interpreted by erl_eval, which would add
%% its own cost to every loop iteration and list element of the anchor being timed.
-module(bench_anchor).
-export([rpc_loop/2, time_rpc/4, plain_top/3]).

%% N sequential rpc:call(Node, erlang, node, []); microseconds.
rpc_loop(Node, N) ->
    Node = rpc:call(Node, erlang, node, []),
    {Us, ok} = timer:tc(fun() -> loop(Node, N) end),
    Us.

loop(_, 0) -> ok;
loop(Node, N) ->
    Node = rpc:call(Node, erlang, node, []),
    loop(Node, N - 1).

%% One rpc:call; microseconds (the reply is checked not to be a badrpc).
time_rpc(Node, M, F, A) ->
    {Us, Reply} = timer:tc(rpc, call, [Node, M, F, A, infinity]),
    case Reply of {badrpc, _} -> exit(Reply); _ -> Us end.

%% What a BEAM node does without a top tool: fetch Items of every process with plain rpc:call,
%% then rank by the first item locally. {FetchMs, RankMs, BytesOverTheWire, TopLength}.
plain_top(Node, Items, TopN) ->
    T0 = erlang:monotonic_time(microsecond),
    Ps = rpc:call(Node, erlang, processes, []),
    Infos = rpc:call(Node, lists, zipwith, [fun erlang:process_info/2, Ps, lists:duplicate(length(Ps), Items)], infinity),
    T1 = erlang:monotonic_time(microsecond),
    Keyed = [{V, P} || {P, [{_, V} | _]} <- lists:zip(Ps, Infos)],
    Top = lists:sublist(lists:reverse(lists:sort(Keyed)), TopN),
    T2 = erlang:monotonic_time(microsecond),
    Bytes = byte_size(term_to_binary(Ps)) + byte_size(term_to_binary(Infos)),
    {(T1 - T0) div 1000, (T2 - T1) div 1000, Bytes, length(Top)}.
