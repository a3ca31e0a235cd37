// Allure 3 configuration for the harness's HTML report.
//
// `python -m harness.report` runs `allure generate --config reports/allurerc.mjs` and steers this file with
// environment variables, so one config serves local runs, tests (temporary folders) and CI:
//   HARNESS_REPORTS_DIR  the reports folder (default: the folder holding this file); the HTML goes to
//                        $HARNESS_REPORTS_DIR/html and the run history to $HARNESS_REPORTS_DIR/history.jsonl
//   HARNESS_SINGLE_FILE  "1": one self-contained index.html (opens from disk, easy to attach or mail)
//   HARNESS_REPORT_NAME  the title shown on the report (default below)
//
// Categories live here, not in categories.json: Allure 3's awesome report ignores categories.json in the
// results. Suites start every failure message with its finding's category (harness/findings.py Category.heading,
// raised by suites/checks.py or by harness/findings_plugin.py for a test that recorded findings); allure-pytest prefixes
// the exception type ("AssertionError: Contract violation: ..."), so the patterns allow an optional
// "Type: " in front. Rules are tried in order and the first match wins.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { defineConfig } from "allure";

const here = dirname(fileURLToPath(import.meta.url));
const reportsDir = process.env.HARNESS_REPORTS_DIR || here;
const singleFile = process.env.HARNESS_SINGLE_FILE === "1";
const reportName = process.env.HARNESS_REPORT_NAME || "Stripe contract harness";

const NOT_PASSED = ["failed", "broken"];
// An optional exception type ("AssertionError: ", "harness.client.TransportError: ") before the category text.
const TYPE = String.raw`^(?:[\w.]+: )?`;

// Schemathesis (suites/test_schemathesis.py) raises its own failures: one check failure as its class
// (schemathesis.openapi.checks.AcceptedNegativeData: ...), several as a FailureGroup listing them
// ("- ST101 Server error", "- ST901 Custom check failed: ..."). Its checks compare answers with the contract, so
// they are contract violations, except server errors (ST101, or a harness check saying "Server error (5xx)").
const ST_GROUP = String.raw`^schemathesis\.[\w.]*FailureGroup\b`;
const ST_SERVER = String.raw`(?:- ST101 |Server error \(5xx\))`;
const SCHEMATHESIS_CONTRACT = [
  { statuses: NOT_PASSED, message: new RegExp(ST_GROUP + String.raw`(?![\s\S]*` + ST_SERVER + ")") },
  { statuses: NOT_PASSED, message: /^schemathesis\.(?:core\.failures|openapi\.checks)\.(?!ServerError\b|FailureGroup\b)\w+/ },
];
const SCHEMATHESIS_SERVER = [
  { statuses: NOT_PASSED, message: new RegExp(ST_GROUP + String.raw`[\s\S]*` + ST_SERVER) },
  { statuses: NOT_PASSED, message: /^schemathesis\.core\.failures\.ServerError\b/ },
];

// A failure category: its message starts with `prefix`; Hypothesis may wrap several distinct failures in an
// ExceptionGroup, whose message names no category, so those are placed by the first category in the trace.
const category = (name, prefix, more = []) => ({
  id: name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, ""),
  name,
  matchers: [
    { statuses: NOT_PASSED, message: new RegExp(TYPE + prefix) },
    { statuses: NOT_PASSED, message: /^(?:[\w.]+\.)?(?:Base)?ExceptionGroup\b/, trace: new RegExp(prefix) },
    ...more,
  ],
  // Messages carry request IDs and response bodies, so grouping by message would give one group per failure;
  // group by finding instead (the `finding` label harness/findings_plugin.py puts on a failing test: its main
  // finding's id and headline): the categories tab is the findings overview, each finding listing its tests.
  groupBy: [{ label: "finding" }],
  groupByMessage: false,
  expand: true,
});

export default defineConfig({
  name: reportName,
  output: join(reportsDir, "html"),
  // One JSON line per run; bounded so the file (kept across runs and cached in CI) stays small.
  historyPath: join(reportsDir, "history.jsonl"),
  historyLimit: 20,
  categories: {
    rules: [
      category("Contract violation", "Contract violation", SCHEMATHESIS_CONTRACT),
      category("Invariant violation", "Invariant violation"),
      category("Server error (5xx)", String.raw`Server error(?: \(5xx\))?:`, SCHEMATHESIS_SERVER),
      category("Not implemented", "Not implemented:"),
      {
        // No HTTP answer at all: harness.client.TransportError (after retries) or a raw requests/urllib3 error.
        id: "transport-error",
        name: "Transport error",
        matchers: {
          statuses: NOT_PASSED,
          message: /^(?:harness\.client\.TransportError|requests\.exceptions\.\w+|urllib3\.exceptions\.\w+|(?:builtins\.)?(?:ConnectionError|ConnectionRefusedError|ConnectionResetError|TimeoutError))\b/,
        },
        groupBy: [{ label: "finding" }],
        groupByMessage: false,
        expand: true,
      },
      {
        // "Harness error: ..." (suites/checks.py), and anything else that did not pass: a bare assert, a KeyError
        // in a suite, a fixture crash. Suites report product problems through suites/checks.py only, so an
        // uncategorised failure is a bug in the harness until shown otherwise.
        id: "harness-error",
        name: "Harness error",
        matchers: { statuses: NOT_PASSED },
        groupBy: [{ label: "finding" }, { label: "suite" }],
        groupByMessage: false,
        expand: true,
      },
    ],
  },
  plugins: {
    awesome: {
      options: {
        reportName,
        singleFile,
        // The tree follows suites/checks.py label_test: resource family > operation > property checked.
        groupBy: ["epic", "feature", "story"],
      },
    },
  },
});
