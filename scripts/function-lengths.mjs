// The longest functions of lib/ (lines from their first to their last), longest first: where the
// next split is due. `node scripts/function-lengths.mjs [count] [folder]`.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { files } from './import-graph.mjs';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const [count = '10', folder = join(root, 'lib')] = process.argv.slice(2);

const found = [];
for (const file of files(folder)) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      let name = node.name?.getText(source);
      if (name === undefined && ts.isVariableDeclaration(node.parent)) name = node.parent.name.getText(source);
      if (name === undefined && ts.isPropertyAssignment(node.parent)) name = node.parent.name.getText(source);
      found.push({ lines: last - first + 1, where: `${relative(root, file)}:${first + 1}`, name: name ?? '(anonymous)' });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}
found.sort((a, b) => b.lines - a.lines);
for (const { lines, where, name } of found.slice(0, Number(count))) console.log(`${String(lines).padStart(5)}  ${name}  ${where}`);
