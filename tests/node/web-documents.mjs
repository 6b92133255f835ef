// The GraphQL documents the web client (web/js) sends, found in its source: the upper-case
// string constants (evaluated in order, so `${FIELDS}` pieces resolve) that parse as an
// operation, and string literals passed straight to gql() or subscribe().
// Usage: node web-documents.mjs            -> one JSON line per document, then one per call
//                                             site whose document was not found ("uncovered")
//        node web-documents.mjs --manifest -> web/persisted-documents.json's content
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';
import { Kind, parse } from 'graphql';

const WEB = new URL('../../web/js/', import.meta.url).pathname;
const STRING = '(`(?:[^`\\\\]|\\\\.)*`|"(?:[^"\\\\]|\\\\.)*")';
const CONSTANT = new RegExp(`const\\s+([A-Z][A-Z0-9_]*)\\s*=\\s*${STRING}`, 'gs');
const INLINE = new RegExp(`\\b(?:gql|subscribe)\\(\\s*${STRING}`, 'gs');
const BY_NAME = /(?<!function\s+)\b(?:gql|subscribe)\(\s*([A-Za-z_$][\w$]*)\s*[,)]/g;

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith('.js') ? [join(dir, entry.name)] : []);
}

function operation(text) {
  try {
    return parse(text).definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION);
  } catch {
    return false;
  }
}

const documents = new Set();
const uncovered = [];
for (const file of files(WEB).sort()) {
  const source = readFileSync(file, 'utf8');
  const context = vm.createContext({});
  for (const [, name, literal] of source.matchAll(CONSTANT)) {
    vm.runInContext(`var ${name} = ${literal};`, context);
    const value = context[name];
    if (typeof value === 'string' && operation(value)) documents.add(value);
  }
  for (const [, literal] of source.matchAll(INLINE)) {
    const value = vm.runInContext(literal, context);
    if (operation(value)) documents.add(value);
    else uncovered.push(`${file}: ${literal}`);
  }
  for (const [, name] of source.matchAll(BY_NAME)) {
    if (!documents.has(context[name])) uncovered.push(`${file}: ${name}`);
  }
}

if (process.argv.includes('--manifest')) {
  const manifest = {};
  for (const text of [...documents].sort()) manifest[createHash('sha256').update(text).digest('hex')] = text;
  console.log(JSON.stringify(manifest, null, 2));
} else {
  for (const text of documents) console.log(JSON.stringify({ document: text }));
  for (const site of uncovered) console.log(JSON.stringify({ uncovered: site }));
}
