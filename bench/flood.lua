-- wrk script: every request is a 1 MB body, far over the router's 64 KiB limit.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"pad":"' .. string.rep("a", 1024 * 1024) .. '"}'
