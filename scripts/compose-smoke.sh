#!/usr/bin/env bash
# End-to-end check of the distributed deployment, for a machine with Docker (Compose v2.20+) and
# this repository's node_modules (npm ci):
#   1. docker compose up -d --build --wait   (PostgreSQL, Kafka and its topics, five services, gateway)
#   2. npm run demo through the gateway      (loads the seed cohort; exits 1 unless the server's
#                                             endpoint report shows the seed's table)
#   3. every amputation, TVR and death of the seed has a CEC case, polled from
#      GET /trials/{t}/adjudication/cases: a case opens only when the event travelled
#      adverse-events -> outbox -> Kafka -> adjudication, so a broken feed shows here.
#
#   scripts/compose-smoke.sh                  # leaves the stack running
#   SMOKE_DOWN=1 scripts/compose-smoke.sh     # and removes it (with its volumes) afterwards
#
# Environment: JWT_SECRET (default: compose's demo secret), GATEWAY_URL (default
# http://localhost:3000), SMOKE_CASE_TIMEOUT seconds to wait for the cases (default 120),
# SMOKE_WAIT_TIMEOUT seconds for `up --wait` (default 300), and KURRENTDB_URL / COMPOSE_PROFILES as
# for docker compose itself (e.g. the log on KurrentDB).
# Run it on a fresh stack (docker compose down -v first): the demo refuses a trial it did not make.
set -euo pipefail

cd "$(dirname "$0")/.."

export JWT_SECRET="${JWT_SECRET:-insecure-demo-secret-of-32-bytes-change-me}"
GATEWAY_URL="${GATEWAY_URL:-http://localhost:3000}"
CASE_TIMEOUT="${SMOKE_CASE_TIMEOUT:-120}"
WAIT_TIMEOUT="${SMOKE_WAIT_TIMEOUT:-300}"

step() { printf '\n== %s\n' "$*"; }
fail() {
  printf 'compose-smoke: FAILED: %s\n' "$*" >&2
  printf 'recent logs of the services that carry cases:\n' >&2
  docker compose logs --no-color --tail 40 adverse-events adjudication kafka-topics >&2 || true
  exit 1
}

command -v docker >/dev/null || fail "docker is not installed"
version="$(docker compose version --short 2>/dev/null)" || fail "docker compose (v2) is not available"
# depends_on.required (the optional KurrentDB) needs Compose 2.20.
major="${version%%.*}"
rest="${version#*.}"
minor="${rest%%.*}"
if ((major < 2 || (major == 2 && minor < 20))); then fail "Compose v2.20+ is needed, found $version"; fi
[[ -d node_modules ]] || fail "run npm ci first: the demo and the checks run from this checkout"

if [[ "${SMOKE_DOWN:-}" == "1" ]]; then trap 'docker compose down -v --remove-orphans >/dev/null 2>&1 || true' EXIT; fi

step "docker compose up -d --build --wait (Compose $version)"
docker compose up -d --build --wait --wait-timeout "$WAIT_TIMEOUT" || fail "the stack did not become healthy"

step "npm run demo through the gateway at $GATEWAY_URL"
demo_log="$(mktemp)"
DEMO_URL="$GATEWAY_URL" npm run --silent demo 2>&1 | tee "$demo_log" || fail "the demo failed"
grep -q '^server report (site-reported, crude at 180 days):' "$demo_log" || fail "the demo printed no server report table"
grep -q 'MISMATCH' "$demo_log" && fail "the server's report differs from the seed's table"

step "every amputation, TVR and death of the seed has a CEC case (waiting up to ${CASE_TIMEOUT}s)"
# The seed's events and the cases listed, compared in TypeScript against the cohort the demo loaded.
GATEWAY_URL="$GATEWAY_URL" CASE_TIMEOUT="$CASE_TIMEOUT" npx tsx --eval '
import { signToken } from "./libs/auth/src/sign-token";
import { TRIAL_ID, legDebBtkCohort } from "./scripts/demo-cohort";

const kinds = new Set(["amputation", "tvr", "death"]);
const expected = legDebBtkCohort()
  .patients.flatMap((p) => p.adverseEvents)
  .filter((e) => kinds.has(e.kind))
  .map((e) => e.eventId)
  .sort();

async function main(): Promise<void> {
  const token = await signToken({ userId: "compose-smoke", name: "Compose Smoke", roles: ["auditor"], sites: [] }, process.env.JWT_SECRET!, { expiresIn: "1h" });
  const url = `${process.env.GATEWAY_URL}/trials/${TRIAL_ID}/adjudication/cases`;
  const deadline = Date.now() + Number(process.env.CASE_TIMEOUT) * 1000;
  let missing = expected;
  for (;;) {
    const response = await fetch(url, { headers: { Authorization: `Bearer ${token}`, Accept: "application/json" } });
    if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status} ${await response.text()}`);
    const cases = (await response.json()) as Array<{ eventId: string; caseId: string; kind: string }>;
    const opened = new Set(cases.map((c) => c.eventId));
    missing = expected.filter((id) => !opened.has(id));
    if (missing.length === 0) {
      console.log(`${expected.length} of ${expected.length} adverse events have a case (${cases.length} cases listed)`);
      return;
    }
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  console.error(`no case for ${missing.length} of ${expected.length} adverse events: ${missing.join(", ")}`);
  process.exitCode = 1;
}
main().catch((error: unknown) => {
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : "";
  console.error(`${error instanceof Error ? error.message : String(error)}${cause}`);
  process.exitCode = 1;
});
' || fail "not every amputation, TVR and death became a CEC case: is the Kafka feed (outbox relay -> adjudication) working?"

step "OK: the stack is healthy, the report shows the seed's table, and every endpoint event has its case"
