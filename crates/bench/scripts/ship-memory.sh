#!/bin/bash
# The release job's memory against the number of apps (BENCHMARKS.md, "Memory at 100,000
# apps"): WeChat alone, no latency and no rate limit (the run is CPU-bound), N apps.
#
#   crates/bench/scripts/ship-memory.sh 100000
#   WRAP="heaptrack -o heap" crates/bench/scripts/ship-memory.sh 30000   # where the heap goes
set -u
N=${1:-10000}
BIN=$(cd "$(dirname "$0")/../../.." && pwd)/target/release
WORK=${WORK:-$(mktemp -d)}
cd "$WORK"
cat > release.toml <<'T'
name = "memory"

[wechat]
template_id = 7
version = "2.0.0"
description = "memory run"
ext_json = { extAppid = "{app_id}" }
T
cat > creds.toml <<'T'
[wechat]
app_id = "wechat_sandbox_platform"
secret = "sandbox-secret"
ticket = "sandbox-ticket"
push_token = "sandbox-push-token"
encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
T
"$BIN/miniapp-sandbox" --addr 127.0.0.1:9101 --enforce-tokens --apps "$N" --check-ms 1000 \
  --audit-ms 5000 --rejected-share 0.05 --push-audits http://127.0.0.1:9201 \
  > sandbox.out 2> sandbox.err &
SANDBOX=$!
while ! grep -q '^kuaishou' sandbox.out 2>/dev/null; do sleep 0.5; done
sleep 1
awk '$1=="wechat"{printf "{\"vendor\": \"%s\", \"app_id\": \"%s\", \"refresh_token\": \"%s\"}\n",$1,$2,$3}' \
  sandbox.out > apps.jsonl
/usr/bin/time -v ${WRAP:-} "$BIN/miniapp" release run release.toml --inventory apps.jsonl \
  --credentials creds.toml --base-url http://127.0.0.1:9101 --watch --poll 1s \
  --concurrency 64 --listen 127.0.0.1:9201 > job.out 2> job.err
echo "job exit $? (output in $WORK)"
grep -E "Elapsed|Maximum resident" job.err
kill -INT $SANDBOX; sleep 1; tail -1 sandbox.err
