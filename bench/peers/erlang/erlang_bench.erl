%% erlang_bench -- akt's benchmark workloads written for Erlang/OTP, so that
%% akt's numbers can be read beside the runtime the actor model is best
%% known from.
%%
%% Build and run (Debian 12, erlang-base, OTP 25):
%%   erlc -o BUILD_DIR erlang_bench.erl
%%   erl -noshell -pa BUILD_DIR -run erlang_bench main full [WORKLOAD...]
%%   erl -noshell -pa BUILD_DIR -run erlang_bench main quick [WORKLOAD...]
%%   erl -noshell -pa BUILD_DIR -run erlang_bench main full reps=N [WORKLOAD...]
%% WORKLOAD is one of tell pingpong request ask fanin spawn memory threadring
%% remote-tell remote-ask; none means all of them, in that order (the remote
%% ones only when the node is distributed).
%%
%% The remote workloads use Erlang distribution between two nodes on
%% loopback: this node (A) must be started distributed, with epmd running,
%%   erl -noshell -name a@127.0.0.1 -setcookie COOKIE -pa BUILD_DIR \
%%       -run erlang_bench main full remote-tell remote-ask
%% and it starts node B itself with OTP's peer module (`erl -name` with the
%% same cookie, on 127.0.0.1), which ends with node A. Each workload runs once as a
%% warm-up and then 5 times ("quick": once, with every count divided by 10;
%% "reps=N": N times; not "--reps", which erl would take for its own flag);
%% the median goes to stdout as one line
%%   workload<TAB>erlang<TAB>metric<TAB>value
%% and nothing else goes to stdout. Progress and failures go to stderr. The
%% VM exits 1 if any workload failed its check, 2 on bad arguments.
%%
%% The VM runs with its defaults: one scheduler per core. "Outside the actor
%% system" has no meaning in Erlang, where all code runs in processes; the
%% process that runs main/1 stands in for akt's and CAF's main thread.
-module(erlang_bench).
-behaviour(gen_server).

-export([main/0, main/1]).
%% The echo server of the ask workload.
-export([init/1, handle_call/3, handle_cast/2]).
%% Spawned on node B by the remote workloads.
-export([echo/0, rcounter/1]).

%% akt's request and ask always carry a timeout, so the peers' do too.
-define(REQUEST_TIMEOUT, 10000).
%% How long main waits for a workload to report that it is done before it
%% declares the workload hung.
-define(DONE_TIMEOUT, 120000).

%% The same counts as akt's bench (bench/akt_bench.c).
params(Mode) ->
    Full = #{tell => 2000000, pingpong => 500000, request => 200000,
             ask => 100000, fanin => 2000000, fanin_producers => 8,
             spawn => 100000, memory_actors => 100000,
             ring_hops => 1000000, ring_size => 503,
             remote_tell => 1000000, remote_ask => 20000, reps => 5},
    case Mode of
        full -> Full;
        quick ->
            Scaled = maps:map(fun(_, V) -> V div 10 end,
                              maps:with([tell, pingpong, request, ask, fanin,
                                         spawn, memory_actors, ring_hops,
                                         remote_tell, remote_ask],
                                        Full)),
            maps:merge(Full#{reps := 1}, Scaled)
    end.

workloads() ->
    [{tell, ns_per_msg, fun wl_tell/1},
     {pingpong, ns_per_op, fun wl_pingpong/1},
     {request, ns_per_op, fun wl_request/1},
     {ask, ns_per_op, fun wl_ask/1},
     {fanin, ns_per_msg, fun wl_fanin/1},
     {spawn, ns_per_op, fun wl_spawn/1},
     {memory, bytes_per_actor, fun wl_memory/1},
     {threadring, ns_per_op, fun wl_threadring/1},
     {'remote-tell', msgs_per_s, fun wl_remote_tell/1},
     {'remote-ask', ns_per_op, fun wl_remote_ask/1}].

remote_workload('remote-tell') -> true;
remote_workload('remote-ask') -> true;
remote_workload(_) -> false.

main() -> main(["full"]).

main([ModeArg, "reps=" ++ RepsArg | Names]) when ModeArg =:= "full"; ModeArg =:= "quick" ->
    case string:to_integer(RepsArg) of
        {Reps, ""} when Reps >= 1, Reps =< 1000 -> run(ModeArg, Reps, Names);
        _ -> usage()
    end;
main([ModeArg | Names]) when ModeArg =:= "full"; ModeArg =:= "quick" ->
    run(ModeArg, default, Names);
main(_) -> usage().

%% Runs the named workloads (all when none), each a warm-up and then Reps
%% times (default: the mode's).
run(ModeArg, Reps, Names) ->
    Mode = list_to_atom(ModeArg),
    All = workloads(),
    Todo = case Names of
               [] -> [W || W = {Name, _, _} <- All,
                           is_alive() orelse not remote_workload(Name)];
               _ -> [lists:keyfind(list_to_atom(N), 1, All) || N <- Names]
           end,
    case lists:member(false, Todo) of
        true -> usage();
        false ->
            progress("OTP ~s, ~b schedulers~s",
                     [erlang:system_info(otp_release),
                      erlang:system_info(schedulers_online),
                      case Mode of quick -> ", quick"; full -> "" end]),
            Remote = [W || W = {Name, _, _} <- Todo, remote_workload(Name)],
            P0 = case Reps of
                     default -> params(Mode);
                     _ -> (params(Mode))#{reps := Reps}
                 end,
            {P, Peer} = case Remote of
                            [] -> {P0, none};
                            _ -> with_peer(P0)
                        end,
            Ok = lists:foldl(fun(W, Acc) -> run_workload(P, W) and Acc end,
                             true, Todo),
            stop_peer(Peer),
            halt(case Ok of true -> 0; false -> 1 end)
    end.

usage() ->
    io:format(standard_error,
              "usage: erl -noshell -pa DIR -run erlang_bench main full|quick "
              "[reps=N] [WORKLOAD...]~n", []),
    halt(2).

progress(Fmt, Args) ->
    io:format(standard_error, "erlang: " ++ Fmt ++ "~n", Args).

%% A workload that did not do its work calls this; run_workload reports it
%% and moves on to the next workload.
check(true, _What) -> ok;
check(false, What) -> throw({bench_failure, What}).

now_ns() -> erlang:monotonic_time(nanosecond).

%% Waits for {done, N} and returns N.
await_done(Workload) ->
    receive
        {done, N} -> N
    after ?DONE_TIMEOUT ->
        check(false, io_lib:format("~s: no done message within ~b s",
                                   [Workload, ?DONE_TIMEOUT div 1000]))
    end.

%% Runs one workload: a warm-up, then reps measured runs; prints the median.
%% Returns false if any run failed its check.
run_workload(P, {Name, Metric, Fun}) ->
    Reps = maps:get(reps, P),
    try
        Values = [begin
                      V = Fun(P),
                      case Rep of
                          0 -> progress("~s warm-up ~.1f ~s", [Name, V, Metric]);
                          _ -> progress("~s rep ~b/~b ~.1f ~s",
                                        [Name, Rep, Reps, V, Metric])
                      end,
                      V
                  end || Rep <- lists:seq(0, Reps)],
        M = median(tl(Values)),
        Text = case Metric of
                   bytes_per_actor -> integer_to_list(round(M));
                   _ -> io_lib:format("~.1f", [M])
               end,
        io:format("~s\terlang\t~s\t~s~n", [Name, Metric, Text]),
        true
    catch
        throw:{bench_failure, What} ->
            progress("FAILED ~s", [What]),
            false
    end.

median(Xs) ->
    S = lists:sort(Xs),
    N = length(S),
    case N rem 2 of
        1 -> lists:nth(N div 2 + 1, S);
        0 -> (lists:nth(N div 2, S) + lists:nth(N div 2 + 1, S)) / 2
    end.

%% -- tell ------------------------------------------------------------------

%% Counts {msg, N} messages and tells the count when asked for it.
counter(Count) ->
    receive
        {msg, _} -> counter(Count + 1);
        {get, From, Ref} -> From ! {Ref, Count}, counter(Count);
        stop -> ok
    end.

%% The producer is main: it sends, then asks for the count, whose reply
%% proves that the counter has processed every message.
wl_tell(#{tell := N}) ->
    C = spawn(fun() -> counter(0) end),
    T0 = now_ns(),
    send_msgs(C, 0, N),
    Ref = make_ref(),
    C ! {get, self(), Ref},
    Count = receive {Ref, X} -> X after ?DONE_TIMEOUT -> timeout end,
    Ns = now_ns() - T0,
    C ! stop,
    check(Count =:= N, io_lib:format("tell: counted ~p of ~b", [Count, N])),
    Ns / N.

send_msgs(_To, N, N) -> ok;
send_msgs(To, I, N) -> To ! {msg, I}, send_msgs(To, I + 1, N).

%% -- pingpong --------------------------------------------------------------

%% Answers every {ping, From, N} with {pong, N}.
pong() ->
    receive
        {ping, From, N} -> From ! {pong, N}, pong();
        stop -> ok
    end.

%% Serves {start, M}: M round trips with Pong, then {done, Rounds} to Main.
ping(Pong, Main) ->
    receive
        {start, M} -> Pong ! {ping, self(), M}, ping(Pong, Main, 0);
        stop -> ok
    end.

ping(Pong, Main, Rounds) ->
    receive
        {pong, N} when N > 1 ->
            Pong ! {ping, self(), N - 1},
            ping(Pong, Main, Rounds + 1);
        {pong, _} ->
            Main ! {done, Rounds + 1},
            ping(Pong, Main);
        stop -> ok
    end.

wl_pingpong(#{pingpong := M}) ->
    Main = self(),
    Pong = spawn(fun pong/0),
    Ping = spawn(fun() -> ping(Pong, Main) end),
    T0 = now_ns(),
    Ping ! {start, M},
    Rounds = await_done(pingpong),
    Ns = now_ns() - T0,
    [P ! stop || P <- [Ping, Pong]],
    check(Rounds =:= M,
          io_lib:format("pingpong: ~p round trips of ~b", [Rounds, M])),
    Ns / M.

%% -- request and ask -------------------------------------------------------

%% Replies to {req, From, Ref, N} with {Ref, N}.
echo() ->
    receive
        {req, From, Ref, N} -> From ! {Ref, N}, echo();
        stop -> ok
    end.

%% Serves {start, K}: K sequential requests to Echo, each a fresh reference
%% and a selective receive of the reply, then {done, K} to Main, or
%% {done, -1} if a reply was wrong or missing.
requester(Echo, Main) ->
    receive
        {start, K} -> Main ! {done, request_loop(Echo, 0, K)}
    end.

request_loop(_Echo, K, K) -> K;
request_loop(Echo, I, K) ->
    Ref = make_ref(),
    Echo ! {req, self(), Ref, I},
    receive
        {Ref, I} -> request_loop(Echo, I + 1, K);
        {Ref, _} -> -1
    after ?REQUEST_TIMEOUT -> -1
    end.

wl_request(#{request := K}) ->
    Main = self(),
    Echo = spawn(fun echo/0),
    Req = spawn(fun() -> requester(Echo, Main) end),
    T0 = now_ns(),
    Req ! {start, K},
    Done = await_done(request),
    Ns = now_ns() - T0,
    Echo ! stop,
    check(Done =:= K, io_lib:format("request: ~p replies of ~b", [Done, K])),
    Ns / K.

%% The echo server of ask: OTP's request/response is gen_server:call, which
%% monitors the server and times out, as akt_ask and CAF's blocking request
%% do.
init([]) -> {ok, none}.
handle_call({echo, N}, _From, State) -> {reply, N, State}.
handle_cast(_Msg, State) -> {noreply, State}.

wl_ask(#{ask := A}) ->
    {ok, Echo} = gen_server:start(?MODULE, [], []),
    T0 = now_ns(),
    Good = ask_loop(Echo, 0, A, 0),
    Ns = now_ns() - T0,
    gen_server:stop(Echo),
    check(Good =:= A, io_lib:format("ask: ~b right replies of ~b", [Good, A])),
    Ns / A.

ask_loop(_Echo, A, A, Good) -> Good;
ask_loop(Echo, I, A, Good) ->
    R = gen_server:call(Echo, {echo, I}, ?REQUEST_TIMEOUT),
    ask_loop(Echo, I + 1, A, Good + case R of I -> 1; _ -> 0 end).

%% -- fanin -----------------------------------------------------------------

%% Counts {msg, N} messages; at the Expected-th it tells Main.
consumer(Count, Expected, Main) ->
    receive
        {msg, _} when Count + 1 =:= Expected ->
            Main ! {done, Expected},
            consumer(Expected, Expected, Main);
        {msg, _} -> consumer(Count + 1, Expected, Main);
        stop -> ok
    end.

%% Serves {start, N}: sends N messages to Sink, then ends.
producer(Sink) ->
    receive {start, N} -> send_msgs(Sink, 0, N) end.

wl_fanin(#{fanin := N, fanin_producers := P}) ->
    Main = self(),
    Per = N div P,
    Total = Per * P,
    Sink = spawn(fun() -> consumer(0, Total, Main) end),
    Producers = [spawn(fun() -> producer(Sink) end) || _ <- lists:seq(1, P)],
    T0 = now_ns(),
    [Pr ! {start, Per} || Pr <- Producers],
    Got = await_done(fanin),
    Ns = now_ns() - T0,
    Sink ! stop,
    check(Got =:= Total, io_lib:format("fanin: consumed ~p of ~b", [Got, Total])),
    Ns / Total.

%% -- spawn and memory ------------------------------------------------------

%% A process that does nothing until told to stop.
idle() -> receive stop -> ok end.

%% Spawns S monitored idle processes, stops them all and waits for every
%% 'DOWN': the clock stops when the last process is gone.
wl_spawn(#{spawn := S}) ->
    T0 = now_ns(),
    Pids = [spawn_monitor(fun idle/0) || _ <- lists:seq(1, S)],
    [Pid ! stop || {Pid, _} <- Pids],
    Downs = await_downs(0, S),
    Ns = now_ns() - T0,
    check(Downs =:= S, io_lib:format("spawn: ~b of ~b processes stopped",
                                     [Downs, S])),
    Ns / S.

await_downs(N, N) -> N;
await_downs(I, N) ->
    receive
        {'DOWN', _, process, _, _} -> await_downs(I + 1, N)
    after ?DONE_TIMEOUT -> I
    end.

%% An idle process that first reports that it runs: then the measurement
%% sees every process after its first turn.
ready_idle(Main) ->
    Main ! ready,
    idle().

await_ready(N, N) -> N;
await_ready(I, N) ->
    receive ready -> await_ready(I + 1, N) after ?DONE_TIMEOUT -> I end.

%% erlang:memory(processes) counts main too, and main's heap grows with the
%% list of pids that the benchmark keeps; main's own growth is subtracted so
%% that only the idle processes remain, as CAF's vector of handles is kept
%% out of its difference.
wl_memory(#{memory_actors := S}) ->
    Main = self(),
    garbage_collect(),
    Total0 = erlang:memory(processes),
    {memory, Self0} = process_info(Main, memory),
    Pids = [spawn(fun() -> ready_idle(Main) end) || _ <- lists:seq(1, S)],
    Ready = await_ready(0, S),
    Total1 = erlang:memory(processes),
    {memory, Self1} = process_info(Main, memory),
    [monitor(process, P) || P <- Pids],
    [P ! stop || P <- Pids],
    Downs = await_downs(0, S),
    check(Ready =:= S andalso Downs =:= S,
          io_lib:format("memory: ~b of ~b processes started, ~b stopped",
                        [Ready, S, Downs])),
    ((Total1 - Total0) - (Self1 - Self0)) / S.

%% -- threadring ------------------------------------------------------------

%% One node of the ring: passes {token, N} on as {token, N-1}; the node that
%% receives {token, 0} tells Main.
ring_node(Main, Hops) ->
    receive {next, Next} -> ring_node(Main, Hops, Next) end.

ring_node(Main, Hops, Next) ->
    receive
        {token, 0} -> Main ! {done, Hops}, ring_node(Main, Hops, Next);
        {token, N} -> Next ! {token, N - 1}, ring_node(Main, Hops, Next);
        stop -> ok
    end.

wl_threadring(#{ring_hops := T, ring_size := Size}) ->
    Main = self(),
    Ring = [spawn(fun() -> ring_node(Main, T) end) || _ <- lists:seq(1, Size)],
    [First | Rest] = Ring,
    [A ! {next, B} || {A, B} <- lists:zip(Ring, Rest ++ [First])],
    T0 = now_ns(),
    First ! {token, T},
    Hops = await_done(threadring),
    Ns = now_ns() - T0,
    [P ! stop || P <- Ring],
    check(Hops =:= T, "threadring: bad done message"),
    Ns / T.

%% -- remote-tell and remote-ask: Erlang distribution -------------------------

%% Starts node B (a peer of this node, same cookie, on 127.0.0.1) and adds
%% it to the parameters as peer_node; without it the remote workloads fail
%% their check. Returns {Params, Peer} (Peer = none when B did not start).
with_peer(P) ->
    case is_alive() of
        false ->
            progress("the remote workloads need a distributed node "
                     "(erl -name NAME@127.0.0.1 -setcookie COOKIE)", []),
            {P, none};
        true ->
            Dir = filename:dirname(code:which(?MODULE)),
            Args = ["-setcookie", atom_to_list(erlang:get_cookie()), "-pa", Dir],
            try peer:start_link(#{name => peer:random_name(akt_bench_b),
                                  host => "127.0.0.1", longnames => true,
                                  args => Args}) of
                {ok, Peer, Node} ->
                    OsPid = rpc:call(Node, os, getpid, []),
                    progress("node B is ~s (OS pid ~s)", [Node, OsPid]),
                    {P#{peer_node => Node}, {Peer, OsPid}};
                Other ->
                    progress("cannot start node B: ~p", [Other]),
                    {P, none}
            catch
                Class:Why ->
                    progress("cannot start node B: ~p:~p", [Class, Why]),
                    {P, none}
            end
    end.

%% Stops node B and waits (up to 10 s) for its OS process to end: peer:stop
%% returns while node B is still shutting down, for a second or more of
%% CPU, which the runtime measured next (akt, in ./dev bench's rounds)
%% would share the machine with.
stop_peer(none) -> ok;
stop_peer({Peer, OsPid}) ->
    catch peer:stop(Peer),
    wait_gone(OsPid, 200).

wait_gone(_, 0) ->
    progress("node B still runs 10 s after it was stopped", []);
wait_gone(OsPid, N) when is_list(OsPid) ->
    case os:cmd("kill -0 " ++ OsPid ++ " 2>/dev/null && echo alive") of
        "alive\n" -> timer:sleep(50), wait_gone(OsPid, N - 1);
        _ -> ok
    end;
wait_gone(_, _) -> ok.

peer_node(#{peer_node := Node}) -> Node;
peer_node(_) -> check(false, "no node B (see above)").

%% Node B's counter: counts {msg, I, Payload} messages whose payload is 64
%% bytes, and tells the count when asked for it.
rcounter(Count) ->
    receive
        {msg, _, <<_:64/binary>>} -> rcounter(Count + 1);
        {msg, _, _} -> rcounter(Count);
        {get, From, Ref} -> From ! {Ref, Count}, rcounter(Count);
        stop -> ok
    end.

%% The producer is main, on node A: it sends M messages with a 64-byte
%% binary to the counter on node B, then asks for the count; distribution
%% keeps the order of one sender's messages, so the reply comes after the
%% counter has counted them all. A busy distribution channel suspends the
%% sender (Erlang's backpressure).
wl_remote_tell(#{remote_tell := M} = P) ->
    Node = peer_node(P),
    C = spawn(Node, ?MODULE, rcounter, [0]),
    Payload = binary:copy(<<"x">>, 64),
    T0 = now_ns(),
    send_payloads(C, 0, M, Payload),
    Ref = make_ref(),
    C ! {get, self(), Ref},
    Count = receive {Ref, X} -> X after ?DONE_TIMEOUT -> timeout end,
    Ns = now_ns() - T0,
    C ! stop,
    check(Count =:= M, io_lib:format("remote-tell: counted ~p of ~b", [Count, M])),
    M / (Ns / 1.0e9).

send_payloads(_To, M, M, _Payload) -> ok;
send_payloads(To, I, M, Payload) ->
    To ! {msg, I, Payload},
    send_payloads(To, I + 1, M, Payload).

%% A requester process on node A makes K sequential requests to an echo
%% process on node B: send {req, self(), Ref, I} and a selective receive of
%% {Ref, I} with a 10 s `after`, as the local request workload does.
wl_remote_ask(#{remote_ask := K} = P) ->
    Node = peer_node(P),
    Main = self(),
    Echo = spawn(Node, ?MODULE, echo, []),
    Req = spawn(fun() -> requester(Echo, Main) end),
    T0 = now_ns(),
    Req ! {start, K},
    Done = await_done('remote-ask'),
    Ns = now_ns() - T0,
    Echo ! stop,
    check(Done =:= K, io_lib:format("remote-ask: ~p replies of ~b", [Done, K])),
    Ns / K.
