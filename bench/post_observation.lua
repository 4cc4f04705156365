-- post_observation.lua - wrk script: POST one Observation per request.
--
--   wrk -t2 -c32 -d10s -s bench/post_observation.lua http://127.0.0.1:PORT -- DATASTREAM_ID
--
-- Each request carries a different phenomenonTime (one second after the
-- previous one of the same wrk thread, the thread number in the
-- milliseconds, so no two requests share a time) and a varying result:
--   {"phenomenonTime":"2025-01-01T00:00:01.000Z","result":10.1}
-- wrk counts answers other than 2xx/3xx as "Non-2xx or 3xx responses".
--
-- SPDX-License-Identifier: Apache-2.0

local threads = {}

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  base = 1735689600 -- 2025-01-01T00:00:00Z
  path = "/v1.1/Datastreams(" .. (args[1] or "1") .. ")/Observations"
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  counter = counter + 1
  local body = string.format('{"phenomenonTime":"%s.%03dZ","result":%.1f}',
    os.date("!%Y-%m-%dT%H:%M:%S", base + counter), (thread_no or 0) % 1000,
    10 + (counter % 500) / 10)
  return wrk.format("POST", path, headers, body)
end
