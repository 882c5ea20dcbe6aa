-- POST add-to-cart forms, as the shop page's form sends them but without `next`: then a
-- done add redirects to the product's page cart and a refused one elsewhere (the
-- overview), so that a refusal, which is a redirect too, counts as a bad answer.
-- Each request is the next (shopper, product) pair of a generated file:
--   return { shoppers = { {cookie = "...", csrf = "..."}, ... }, products = {1, 2, ...},
--            expected_location = "/cart/bench-shop/" }
--   wrk ... -s bench/lua/add.lua URL/cart/add -- ADDS_FILE

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function init(args)
  adds = dofile(args[1])
  counter = thread_number * 1013
  bad_answers = 0
end

function request()
  counter = counter + 1
  local shopper = adds.shoppers[counter % #adds.shoppers + 1]
  local product = adds.products[math.floor(counter / #adds.shoppers) % #adds.products + 1]
  local body = "csrf_token=" .. shopper.csrf .. "&product_id=" .. product .. "&quantity=1"
  return wrk.format("POST", nil, {
    ["Cookie"] = shopper.cookie,
    ["Accept"] = "text/html",
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

function response(status, headers, body)
  local location = headers["location"] or headers["Location"] or ""
  if status ~= 302 or location:sub(-#adds.expected_location) ~= adds.expected_location then
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
