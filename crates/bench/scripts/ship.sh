#!/bin/bash
# Shipping code at fleet scale (BENCHMARKS.md, "Shipping code"): a sandbox playing WeChat and
# Baidu for N apps each (30 ± 5 ms, 1,000 calls/s per vendor answered with their own
# rate-limit codes, 1 s code checks, 5 s audits pushed to the job), and `miniapp release run
# --watch --listen` shipping to all of them, under /usr/bin/time.
#
#   cargo build --release --bin miniapp --bin miniapp-sandbox
#   crates/bench/scripts/ship.sh [N] [extra `miniapp release run` flags]
#   MINIAPP_LOG=miniapp_fleet=debug crates/bench/scripts/ship.sh   # pass and claim timings
#   SANDBOX_EXTRA="--lost-pushes 1.0" crates/bench/scripts/ship.sh  # polls only
#   KILL_AT=30 crates/bench/scripts/ship.sh   # kill -9 the job 30 s in, then run it again
set -u
N=${1:-10000}
shift || true
BIN=$(cd "$(dirname "$0")/../../.." && pwd)/target/release
WORK=${WORK:-$(mktemp -d)}
cd "$WORK"
cat > release.toml <<'T'
name = "bench"

[wechat]
template_id = 7
version = "2.0.0"
description = "bench release"
ext_json = { extAppid = "{app_id}" }

[baidu]
template_id = 3
version = "2.0.0"
description = "bench release"
ext_json = { extEnable = true, extAppid = "{app_id}" }
T
cat > creds.toml <<'T'
[wechat]
app_id = "wechat_sandbox_platform"
secret = "sandbox-secret"
ticket = "sandbox-ticket"
push_token = "sandbox-push-token"
encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

[baidu]
app_id = "baidu_sandbox_platform"
secret = "sandbox-secret"
ticket = "sandbox-ticket"
push_token = "sandbox-push-token"
encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
T
"$BIN/miniapp-sandbox" --addr 127.0.0.1:9100 --enforce-tokens --apps "$N" --latency-ms 30 \
  --jitter-ms 5 --rate 1000 --check-ms 1000 --audit-ms 5000 --rejected-share 0.05 \
  --push-audits http://127.0.0.1:9200 ${SANDBOX_EXTRA:-} > sandbox.out 2> sandbox.err &
SANDBOX=$!
while ! grep -q '^kuaishou' sandbox.out 2>/dev/null; do sleep 0.5; done
sleep 1
awk '$1=="wechat"||$1=="baidu"{printf "{\"vendor\": \"%s\", \"app_id\": \"%s\", \"refresh_token\": \"%s\"}\n",$1,$2,$3}' \
  sandbox.out > apps.jsonl
run_job() {
  /usr/bin/time -v "$BIN/miniapp" release run release.toml --inventory apps.jsonl \
    --credentials creds.toml --base-url http://127.0.0.1:9100 --watch --poll 1s \
    --concurrency 64 --listen 127.0.0.1:9200 "$@"
}
START=$(date +%s.%N)
if [ -n "${KILL_AT:-}" ]; then
  # Killed (SIGKILL) KILL_AT seconds in, then run again to the end, as cron would.
  run_job "$@" > killed.out 2> killed.err &
  JOB=$!
  sleep "$KILL_AT"
  pkill -9 -f "miniapp release run release.toml"
  wait $JOB
  echo "killed after $KILL_AT s; running again"
fi
run_job "$@" > job.out 2> job.err
echo "job exit $? (output in $WORK)"
echo "wall time from the first start: $(echo "$(date +%s.%N) - $START" | bc) s"
grep -E "Elapsed|Maximum resident" job.err
kill -INT $SANDBOX; sleep 1; tail -3 sandbox.err
