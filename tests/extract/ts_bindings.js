#!/usr/bin/env node
// List, with the TypeScript compiler's own binder, what each name spliced into SQL refers to, so
// tests can check how convguard follows Prisma.sql fragments through scopes.
//
// Usage: node ts_bindings.js FILE...
// Prints JSON: {"FILE": [{"use": offset, "name": text, "kind": kind, "declaration": offset}]}
// for every identifier that is the whole `${...}` of a template literal (or the callee of a call
// that is), where kind is "parameter", "variable", "function", "import" or "none" (an unknown
// global) and declaration is the offset of the declared name (-1 for none). Offsets are UTF-16
// code units. `typescript` 5.x is loaded from $CONVGUARD_TS_NODE_MODULES (exit 3 if missing).
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
      if (typeof ts.createProgram === "function") return ts;
    } catch (error) {
      // try the next candidate
    }
  }
  process.stderr.write("typescript (5.x API) not found\n");
  process.exit(3);
}

const ts = loadTypeScript();
const files = process.argv.slice(2).map((file) => path.resolve(file));
const program = ts.createProgram(files, {
  allowJs: true, noResolve: true, noLib: true, jsx: ts.JsxEmit.Preserve, target: ts.ScriptTarget.ES2022,
});
const checker = program.getTypeChecker();

function kindOf(declaration) {
  if (ts.isParameter(declaration)) return "parameter";
  if (ts.isVariableDeclaration(declaration)) return "variable";
  if (ts.isFunctionDeclaration(declaration)) return "function";
  if (ts.isImportSpecifier(declaration) || ts.isImportClause(declaration)
      || ts.isNamespaceImport(declaration)) return "import";
  if (ts.isBindingElement(declaration)) {
    let node = declaration;
    while (node && !ts.isParameter(node) && !ts.isVariableDeclaration(node)) node = node.parent;
    return node && ts.isParameter(node) ? "parameter" : "variable";
  }
  return ts.SyntaxKind[declaration.kind];
}

const result = {};
for (const file of files) {
  const source = program.getSourceFile(file);
  const found = [];
  const record = (identifier) => {
    const symbol = checker.getSymbolAtLocation(identifier);
    const declaration = symbol && symbol.declarations && symbol.declarations[0];
    found.push({
      use: identifier.getStart(source),
      name: identifier.text,
      kind: declaration ? kindOf(declaration) : "none",
      declaration: declaration && declaration.name ? declaration.name.getStart(source)
        : declaration && ts.isImportClause(declaration) ? declaration.getStart(source) : -1,
    });
  };
  const visit = (node) => {
    if (ts.isTemplateSpan(node)) {
      let expression = node.expression;
      while (ts.isParenthesizedExpression(expression)) expression = expression.expression;
      if (ts.isIdentifier(expression)) record(expression);
      else if (ts.isCallExpression(expression) && ts.isIdentifier(expression.expression)) {
        record(expression.expression);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  result[file] = found;
}
process.stdout.write(JSON.stringify(result));
