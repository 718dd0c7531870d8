// Runs `git receive-pack <dir>` for a local push and counts the bytes both ways, like the ralph transport's
// server does, so a test can compare the two. The counts go to the file named by COUNT_FILE.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const child = spawn('git', ['receive-pack', process.argv[2]], { stdio: ['pipe', 'pipe', 'inherit'] });
let sent = 0;
let received = 0;
process.stdin.on('data', (chunk) => {
  sent += chunk.length;
});
child.stdout.on('data', (chunk) => {
  received += chunk.length;
});
process.stdin.pipe(child.stdin);
child.stdout.pipe(process.stdout);
child.on('close', (code) => {
  writeFileSync(process.env.COUNT_FILE, JSON.stringify({ sent, received }));
  process.exitCode = code ?? 1;
});
