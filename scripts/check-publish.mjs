// Run by `npm publish` (prepublishOnly): the registry page renders the README's relative links (the
// guides in docs/) against package.json's `repository`, and shows `homepage` and `bugs` beside it.
// Without them those links break on npmjs.com, so publishing waits until they are filled in.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const missing = ['repository', 'homepage', 'bugs'].filter((field) => pkg[field] === undefined);
if (missing.length > 0) {
  console.error(`package.json lacks ${missing.join(', ')}: the README's links to docs/ would break on the registry page. Fill them in with the public repository's URL before publishing.`);
  process.exit(1);
}
