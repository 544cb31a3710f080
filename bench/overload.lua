-- wrk script for `scripts/bench overload` (bench/overload.sh): one script,
-- two roles, both counting the replies by status.
--
--   miss: every request is a resize the front cache has never seen — the next
--         photo of the corpus with a query argument (part of the cache key)
--         that no other request of the run uses.
--     wrk ... -s bench/overload.lua http://127.0.0.1:PORT -- miss TAG /img/300x200/ a.jpg b.jpg ...
--   hit:  the same, pre-warmed URL again and again, one request every
--         INTERVAL ms (wrk's delay(); 0 = back to back).
--     wrk ... -s bench/overload.lua http://127.0.0.1:PORT -- hit INTERVAL /img/300x200/a.jpg?hit
--
-- response() runs in each thread's own Lua state and keeps that thread's
-- counts in plain globals; done() (in the setup state) reads them back with
-- thread:get for every thread setup() saw, as wrk's scripts/setup.lua does.
-- It prints one line:
--   BENCH role=.. requests=N seconds=S rps=R p50_ms=.. p90_ms=.. p99_ms=..
--         max_ms=.. errors=E connect=.. read=.. write=.. timeout=..
--         s200=.. s503=.. s415=.. sother=.. other_codes=CODE:N,..|-
--         retry_after=N cache_hit=H cache_miss=M cache_other=O
-- (retry_after: 503 replies that carried a Retry-After header.)

local tag, interval, path
local files = {}
local n = 0
local others = {}
local threads = {}

function setup(thread)
    thread:set("id", #threads)
    threads[#threads + 1] = thread
end

function init(args)
    role = args[1]
    s200, s503, s415, sother, retry_after = 0, 0, 0, 0, 0
    cache_hit, cache_miss, cache_other = 0, 0, 0
    other_codes = ""
    if role == "miss" then
        tag = args[2]
        path = args[3]
        for k = 4, #args do
            files[#files + 1] = args[k]
        end
        if not tag or not path or #files == 0 then
            error("overload.lua miss: want TAG PREFIX FILE...")
        end
        tag = tag .. "-" .. tostring(wrk.thread:get("id"))
        n = (tonumber(wrk.thread:get("id")) or 0) % #files
    elseif role == "hit" then
        interval = tonumber(args[2])
        path = args[3]
        if not interval or not path then
            error("overload.lua hit: want INTERVAL_MS PATH")
        end
    else
        error("overload.lua: first argument is miss or hit, not " .. tostring(role))
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
    if status == 200 then
        s200 = s200 + 1
    elseif status == 503 then
        s503 = s503 + 1
        for k, _ in pairs(headers) do
            if string.lower(k) == "retry-after" then
                retry_after = retry_after + 1
                break
            end
        end
    elseif status == 415 then
        s415 = s415 + 1
    else
        sother = sother + 1
        others[status] = (others[status] or 0) + 1
        -- a string, so that thread:get copies it as is
        local t = {}
        for code, count in pairs(others) do
            t[#t + 1] = code .. ":" .. count
        end
        table.sort(t)
        other_codes = table.concat(t, ",")
    end
    local s = headers["X-Cache-Status"]
    if s == "HIT" then
        cache_hit = cache_hit + 1
    elseif s == "MISS" then
        cache_miss = cache_miss + 1
    else
        cache_other = cache_other + 1
    end
end

function done(summary, latency, requests)
    local r = threads[1] and threads[1]:get("role") or "?"
    local sum = { s200 = 0, s503 = 0, s415 = 0, sother = 0, retry_after = 0,
                  cache_hit = 0, cache_miss = 0, cache_other = 0 }
    local codes = {}
    for _, t in ipairs(threads) do
        for k, _ in pairs(sum) do
            sum[k] = sum[k] + (tonumber(t:get(k)) or 0)
        end
        local oc = t:get("other_codes") or ""
        for code, count in string.gmatch(oc, "(%d+):(%d+)") do
            codes[code] = (codes[code] or 0) + tonumber(count)
        end
    end
    local t = {}
    for code, count in pairs(codes) do
        t[#t + 1] = code .. ":" .. count
    end
    table.sort(t)
    local s = summary.duration / 1e6
    local e = summary.errors
    io.write(string.format(
        "BENCH role=%s requests=%d seconds=%.3f rps=%.2f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f"
        .. " errors=%d connect=%d read=%d write=%d timeout=%d"
        .. " s200=%d s503=%d s415=%d sother=%d other_codes=%s retry_after=%d"
        .. " cache_hit=%d cache_miss=%d cache_other=%d\n",
        r, summary.requests, s, summary.requests / s,
        latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
        latency:percentile(99) / 1e3, latency.max / 1e3,
        e.connect + e.read + e.write + e.timeout, e.connect, e.read, e.write, e.timeout,
        sum.s200, sum.s503, sum.s415, sum.sother, #t > 0 and table.concat(t, ",") or "-",
        sum.retry_after, sum.cache_hit, sum.cache_miss, sum.cache_other))
end
