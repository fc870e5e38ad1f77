#!/usr/bin/env bash
# End to end: the management API fuzzed from its own OpenAPI document with schemathesis (PyPI),
# on TCP with an operator's token, against a switch on SQLite with two members up. Passes when no
# request got a 5xx or broke a response's documented shape, the switch still runs and forwards,
# and every change to the member list came from an accepted request (the list's version moved
# exactly once per 2xx POST/PATCH/DELETE on /v1/members): a refused request changed nothing.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
trap cleanup EXIT

make_underlay sw a b f
for k in sw a b; do keypair $k; done
SW="${PFX}-sw"
API=/run/lanyard/$SW.api.sock
DB="$WORK/members.db"
start switch sw "$LANYARD" switch --listen 51820 --private-key "$WORK/sw.key" --database "$DB" \
    --endpoint 192.0.2.1:51820 --name "$SW" --api-listen 192.0.2.1:8443
wait_until 15 test -S "$API" || { cat "$WORK/switch.log"; exit 1; }
for n in a:11 b:12; do
    "$LANYARD" member add "${n%:*}" "$(cat "$WORK/${n%:*}.pub")" --name "$SW" 2>/dev/null
    start "port-${n%:*}" "${n%:*}" "$LANYARD" port --switch 192.0.2.1:51820 --switch-key "$(cat "$WORK/sw.pub")" \
        --private-key "$WORK/${n%:*}.key" --tap "tap${n%:*}" --name "${PFX}-${n%:*}" --address "198.51.100.${n#*:}/24"
done
TOKEN=$("$LANYARD" member operator add fuzzer --database "$DB" 2>/dev/null)
version() { curl -s --unix-socket "$API" http://lanyard/v1/members | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])'; }

document() {
    curl -s --unix-socket "$API" http://lanyard/openapi.yaml >"$WORK/served.yaml"
    cmp -s "$WORK/served.yaml" "$HERE/../../docs/openapi.yaml" && python3 -c "import yaml,sys; yaml.safe_load(open('$WORK/served.yaml'))"
}
check "the API serves its OpenAPI document, the same as docs/openapi.yaml" document

fuzz() {
    wait_until 20 inns a ping -c 1 -W 1 198.51.100.12 >/dev/null || return 1
    local v0 v1 accepted
    v0=$(version)
    inns f timeout 600 schemathesis run "$WORK/served.yaml" --url http://192.0.2.1:8443 -H "Authorization: Bearer $TOKEN" \
        --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
        --max-examples "${FUZZ_EXAMPLES:-60}" --seed 2026 --report har --report-har-path "$WORK/fuzz.har" \
        --request-timeout 10 >"$WORK/fuzz.log" 2>&1
    local rc=$?
    v1=$(version)
    accepted=$(python3 - "$WORK/fuzz.har" <<'PY'
import json, sys, re
entries = json.load(open(sys.argv[1]))["log"]["entries"]
n = sum(1 for e in entries
        if e["request"]["method"] in ("POST", "PATCH", "DELETE")
        and re.search(r"/v1/members(/[^/?]*)?$", e["request"]["url"].split("?")[0])
        and 200 <= e["response"]["status"] < 300)
codes = {}
for e in entries: codes[e["response"]["status"]] = codes.get(e["response"]["status"], 0) + 1
print(n, len(entries), " ".join(f"{k}:{v}" for k, v in sorted(codes.items())))
PY
)
    set -- $accepted
    echo "schemathesis exit $rc; $2 requests (status:count ${*:3}); member changes accepted $1, version $v0 -> $v1"
    grep -E "^(FAILED|.*Failures|.*[0-9]+ (passed|failed))" "$WORK/fuzz.log" | tail -5
    [ $rc -eq 0 ] && [ "$2" -gt 100 ] && [ $((v1 - v0)) -eq "$1" ] && kill -0 "${PIDS[switch]}"
}
check "schemathesis from the OpenAPI document: no 5xx, answers as documented, refused requests change nothing" fuzz

tls_api() {
    # A second switch (another instance) with the API on TCP over TLS: a self-signed certificate
    # for its documentation address.
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=192.0.2.1" \
        -addext "subjectAltName=IP:192.0.2.1" -keyout "$WORK/api.key" -out "$WORK/api.crt" 2>/dev/null || return 1
    keypair sw2
    start switch2 sw "$LANYARD" switch --listen 51821 --private-key "$WORK/sw2.key" --database "$WORK/other.db" \
        --name "${PFX}-sw2" --api-listen 192.0.2.1:8444 --api-certificate "$WORK/api.crt" --api-key "$WORK/api.key"
    wait_until 15 test -S "/run/lanyard/${PFX}-sw2.api.sock" || return 1
    local t2; t2=$("$LANYARD" member operator add ops --database "$WORK/other.db" 2>/dev/null)
    local tls plain bad
    tls=$(inns f curl -s -o /dev/null -w '%{http_code}' --cacert "$WORK/api.crt" -H "Authorization: Bearer $t2" https://192.0.2.1:8444/v1/network)
    plain=$(inns f curl -s -o /dev/null -w '%{http_code}' -m 3 -H "Authorization: Bearer $t2" http://192.0.2.1:8444/v1/network)
    bad=$(inns f curl -s -o /dev/null -w '%{http_code}' --cacert "$WORK/api.crt" -H "Authorization: Bearer $TOKEN" https://192.0.2.1:8444/v1/network)
    echo "token: TLS with the operator's token $tls; plain HTTP to the TLS port $plain; another switch's operator token $bad"
    stop switch2
    [ "$tls" = 200 ] && [ "$plain" != 200 ] && [ "$bad" = 401 ]
}
check "the API on TCP over TLS with --api-certificate; tokens are per switch database" tls_api

still_forwards() {
    # The fuzzer may have removed or changed a and b: put them back as they were, then ping.
    for n in a b; do
        curl -s -o /dev/null --unix-socket "$API" -X DELETE "http://lanyard/v1/members/$n"
        curl -s -o /dev/null --unix-socket "$API" -X DELETE "http://lanyard/v1/members/$(curl -s --unix-socket "$API" http://lanyard/v1/members | python3 -c "import json,sys; print(next((m['name'] for m in json.load(sys.stdin)['members'] if m['publicKey']=='$(cat "$WORK/$n.pub")'), 'none'))")"
        "$LANYARD" member add "$n" "$(cat "$WORK/$n.pub")" --name "$SW" 2>/dev/null
    done
    wait_until 30 inns a ping -c 1 -W 1 198.51.100.12 >/dev/null
}
check "the switch still runs and forwards after the fuzzing" still_forwards

summary
