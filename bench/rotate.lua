-- wrk script for scripts/bench: every request asks for the next photo of the
-- corpus, so each request decodes and resizes a different file.
--   wrk ... http://127.0.0.1:PORT -s bench/rotate.lua -- /rs/ a.jpg b.jpg ...
-- done() prints one machine-readable line:
--   BENCH requests=N seconds=S rps=R p50_ms=.. p90_ms=.. p99_ms=.. max_ms=..
--         errors=E non2xx=M bytes=B

local prefix = "/"
local files = {}
local i = 0

function init(args)
    prefix = args[1] or "/"
    for k = 2, #args do
        files[#files + 1] = args[k]
    end
    if #files == 0 then
        error("rotate.lua: no files given after --")
    end
    -- Start each thread at a different photo.
    i = (tonumber(wrk.thread:get("id")) or 0) % #files
end

function setup(thread)
    setup_id = (setup_id or 0)
    thread:set("id", setup_id)
    setup_id = setup_id + 1
end

function request()
    i = i % #files + 1
    return wrk.format("GET", prefix .. files[i])
end

function done(summary, latency, requests)
    local s = summary.duration / 1e6
    local e = summary.errors
    local errors = e.connect + e.read + e.write + e.timeout
    io.write(string.format(
        "BENCH requests=%d seconds=%.3f rps=%.2f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d non2xx=%d bytes=%d\n",
        summary.requests, s, summary.requests / s,
        latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
        latency:percentile(99) / 1e3, latency.max / 1e3,
        errors, e.status, summary.bytes))
end
