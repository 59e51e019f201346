import { fork } from 'node:child_process';
import { startVaultEmulator } from '../dev/vault-emulator/vaultEmulator';
import { KeyVaultSigner } from '../src/signing/KeyVaultSigner';

/**
 * `node dist/bench/signingCost.js [signatures] [concurrency]`: what one signature costs the product, apart
 * from everything else a run does. The vault emulator runs in a child process (its RSA signing is not
 * the product's CPU); this process signs as a run does, through the product's KeyVaultSigner, and reports
 * its own CPU and wall per signature. Issue 15 asks signing to cost the fleet at most 5 %.
 */
const KEY_NAME = 'bench-signing-cost';

async function vaultChild(): Promise<void> {
  const vault = await startVaultEmulator();
  await vault.createKey(KEY_NAME, { size: 3072, keyOps: ['sign', 'verify'] });
  process.send?.({ url: vault.url });
}

async function main(): Promise<void> {
  const signatures = Number(process.argv[2] ?? 200);
  const concurrency = Number(process.argv[3] ?? 16);
  const child = fork(__filename, ['--vault'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.once('message', (message: { url: string }) => resolve(message.url));
      child.once('exit', (code) => reject(new Error(`the vault emulator exited (${code})`)));
    });
    const signer = new KeyVaultSigner({ vaultUrl: url, keyName: KEY_NAME });
    // The first signature looks the key up and meets the vault's challenge: a run pays that once.
    await signer.sign(Buffer.from('{}'), 'manifest.json');
    const manifest = Buffer.alloc(2000, '{"files":[]}');
    for (let round = 1; round <= 3; round++) {
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < signatures) {
            next++;
            await signer.sign(manifest, 'manifest.json');
          }
        }),
      );
      const wallMs = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      console.log(
        `round ${round}: ${signatures} signatures, ${concurrency} at a time: wall ${wallMs.toFixed(0)} ms, product CPU ${cpuMs.toFixed(0)} ms (${(cpuMs / signatures).toFixed(2)} ms each)`,
      );
    }
  } finally {
    child.kill();
  }
}

(process.argv[2] === '--vault' ? vaultChild() : main()).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(2);
});
