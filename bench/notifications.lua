-- wrk script: POSTs realistic swUpgradeResultNotify bodies, each with its own subOperationId, so
-- every request is a new notification to duplicate suppression. Used by bench/run.mjs.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json;charset=UTF-8"

local head = '{\n    "notifyType": "swUpgradeResultNotify",\n    "deviceId": "92d3f8da-200a-4143-8d0d-591a7e11de6c",\n    "appId": "Q7wuDY3n0Wx2TQnEmhArQ0JbUwYa",\n    "operationId": "5c0e1b2a8d3f4e6a9b7c1d2e",\n    "subOperationId": "'
local tail = '",\n    "curVersion": "V2.1.0",\n    "targetVersion": "V2.1.0",\n    "sourceVersion": "V2.0.3",\n    "swUpgradeResult": "SUCCESS",\n    "upgradeTime": "186",\n    "resultDesc": "upgrade success",\n    "errorCode": "0",\n    "description": ""\n}'
local counter = 0
local prefix = tostring(os.time()) .. "-" .. tostring(math.random(1, 1000000000)) .. "-"

request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, head .. prefix .. counter .. tail)
end

done = function(summary, latency, requests)
  io.write(string.format('WRK_JSON {"requests":%d,"seconds":%f,"non2xx":%d,"errors":%d,"p50":%f,"p99":%f}\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
