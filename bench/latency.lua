-- wrk script for `scripts/bench latency`: one script, two roles.
--
--   miss: every request is a resize the front cache has never seen — the next
--         photo of the corpus, with a query argument (part of the cache key)
--         that no other request of the run uses.
--     wrk ... -s bench/latency.lua http://127.0.0.1:PORT -- miss TAG /img/300x200/ a.jpg b.jpg ...
--   hit:  the same, pre-warmed URL again and again, one request every
--         INTERVAL ms (wrk's delay(); 0 = back to back).
--     wrk ... -s bench/latency.lua http://127.0.0.1:PORT -- hit INTERVAL /img/300x200/a.jpg?hit
--
-- Both count the front cache's X-Cache-Status answers, so the harness can
-- check that misses missed and hits hit. done() prints one line:
--   BENCH role=.. requests=N seconds=S rps=R p50_ms=.. p90_ms=.. p99_ms=..
--         max_ms=.. errors=E non2xx=M hit=H miss=M other=O

-- role is a global: done() reads it back through thread:get.
local tag, interval, path
local files = {}
local n = 0
local counts = { hit = 0, miss = 0, other = 0 }
local threads = {}

function setup(thread)
    thread:set("id", #threads)
    threads[#threads + 1] = thread
end

function init(args)
    role = args[1]
    if role == "miss" then
        tag = args[2]
        path = args[3]
        for k = 4, #args do
            files[#files + 1] = args[k]
        end
        if not tag or not path or #files == 0 then
            error("latency.lua miss: want TAG PREFIX FILE...")
        end
        tag = tag .. "-" .. tostring(wrk.thread:get("id"))
        n = (tonumber(wrk.thread:get("id")) or 0) % #files
    elseif role == "hit" then
        interval = tonumber(args[2])
        path = args[3]
        if not interval or not path then
            error("latency.lua hit: want INTERVAL_MS PATH")
        end
    else
        error("latency.lua: first argument is miss or hit, not " .. tostring(role))
    end
end

function request()
    if role == "hit" then
        return wrk.format("GET", path)
    end
    n = n + 1
    return wrk.format("GET", path .. files[n % #files + 1] .. "?miss=" .. tag .. "-" .. n)
end

function delay()
    return interval or 0
end

function response(status, headers, body)
    local s = headers["X-Cache-Status"]
    if s == "HIT" then
        counts.hit = counts.hit + 1
    elseif s == "MISS" then
        counts.miss = counts.miss + 1
    else
        counts.other = counts.other + 1
    end
    -- wrk reads these back in done() through thread:get.
    hits, misses, others = counts.hit, counts.miss, counts.other
end

function done(summary, latency, requests)
    -- done() runs in the setup state: the roles live in the threads' states.
    local r = threads[1] and threads[1]:get("role") or "?"
    local h, m, o = 0, 0, 0
    for _, t in ipairs(threads) do
        h = h + (t:get("hits") or 0)
        m = m + (t:get("misses") or 0)
        o = o + (t:get("others") or 0)
    end
    local s = summary.duration / 1e6
    local e = summary.errors
    io.write(string.format(
        "BENCH role=%s requests=%d seconds=%.3f rps=%.2f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%d non2xx=%d hit=%d miss=%d other=%d\n",
        r, summary.requests, s, summary.requests / s,
        latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
        latency:percentile(99) / 1e3, latency.max / 1e3,
        e.connect + e.read + e.write + e.timeout, e.status, h, m, o))
end
