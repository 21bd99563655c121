#!/usr/bin/env node
// List the template literals of TypeScript/JavaScript files with the TypeScript compiler's parser,
// so tests can check convguard's hand-written lexer against the real thing.
//
// Usage: node ts_templates.js FILE...
// Prints JSON: {"FILE": {"templates": [...], "tagged": [...]}} where each template is
// {"start": offset of the backtick, "end", "chunks": [raw text...], "expressions": [source...]}
// and each tagged template is {"tag": tag source, "start": offset of the tag, "end",
// "typeArguments": bool, "template": start of its template}. Offsets are UTF-16 code units.
//
// `typescript` (the 5.x JavaScript API; 7.x has none) is loaded from $CONVGUARD_TS_NODE_MODULES,
// then by the usual Node resolution. Exit status 3 means it could not be loaded.
"use strict";

const fs = require("fs");
const path = require("path");

function loadTypeScript() {
  const candidates = [];
  if (process.env.CONVGUARD_TS_NODE_MODULES) {
    candidates.push(path.join(process.env.CONVGUARD_TS_NODE_MODULES, "typescript"));
  }
  candidates.push("typescript");
  for (const candidate of candidates) {
    try {
      const ts = require(candidate);
      if (typeof ts.createSourceFile === "function") return ts;
    } catch (error) {
      // try the next candidate
    }
  }
  process.stderr.write("typescript (5.x API) not found\n");
  process.exit(3);
}

function scriptKind(ts, file) {
  const ext = path.extname(file).toLowerCase();
  if (ext === ".tsx") return ts.ScriptKind.TSX;
  if (ext === ".jsx") return ts.ScriptKind.JSX;
  if ([".js", ".mjs", ".cjs"].includes(ext)) return ts.ScriptKind.JS;
  return ts.ScriptKind.TS;
}

function rawChunks(ts, node, text) {
  // Raw text between the delimiters, sliced from the source so escapes stay as written.
  const slice = (part, open, close) => text.slice(part.getStart() + open, part.end - close);
  if (node.kind === ts.SyntaxKind.NoSubstitutionTemplateLiteral) return [slice(node, 1, 1)];
  const chunks = [slice(node.head, 1, 2)];
  for (const span of node.templateSpans) {
    const isTail = span.literal.kind === ts.SyntaxKind.TemplateTail;
    chunks.push(slice(span.literal, 1, isTail ? 1 : 2));
  }
  return chunks;
}

function describe(ts, file) {
  const text = fs.readFileSync(file, "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, scriptKind(ts, file));
  const templates = [];
  const tagged = [];
  const visit = (node) => {
    if (node.kind === ts.SyntaxKind.NoSubstitutionTemplateLiteral
        || node.kind === ts.SyntaxKind.TemplateExpression) {
      templates.push({
        start: node.getStart(),
        end: node.end,
        chunks: rawChunks(ts, node, text),
        expressions: (node.templateSpans || []).map((span) => span.expression.getText()),
      });
    }
    if (node.kind === ts.SyntaxKind.TaggedTemplateExpression) {
      tagged.push({
        tag: node.tag.getText(),
        start: node.getStart(),
        end: node.end,
        typeArguments: Boolean(node.typeArguments && node.typeArguments.length),
        template: node.template.getStart(),
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { templates, tagged, diagnostics: source.parseDiagnostics.length };
}

const ts = loadTypeScript();
const result = {};
for (const file of process.argv.slice(2)) result[file] = describe(ts, file);
process.stdout.write(JSON.stringify(result));
