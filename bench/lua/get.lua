-- GET one path (wrk's URL), each request as the next of the seeded shoppers: their Cookie
-- headers come from a generated file (a Lua table of strings), round robin, each thread
-- starting at another shopper. An answer other than 200 counts as a bad answer.
--   wrk ... -s bench/lua/get.lua URL -- SHOPPERS_FILE

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function init(args)
  cookies = dofile(args[1])
  counter = thread_number * 7
  bad_answers = 0
end

function request()
  counter = counter + 1
  local cookie = cookies[counter % #cookies + 1]
  return wrk.format("GET", nil, { ["Cookie"] = cookie, ["Accept"] = "text/html" })
end

function response(status, headers, body)
  if status ~= 200 then
    bad_answers = bad_answers + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("bad_answers")
  end
  io.write(string.format("bench-bad-answers: %d\n", total))
end
