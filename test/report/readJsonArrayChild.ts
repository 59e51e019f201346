import { readJsonArray } from '../../src/report/readJsonArray';

/**
 * Reads a JSON array file element by element and prints how many elements and the largest heap seen:
 * run by readJsonArray.test.ts in a child process whose heap is too small to hold the whole file.
 */
async function main(path: string): Promise<void> {
  let elements = 0;
  let peakHeap = 0;
  for await (const _element of readJsonArray(path)) {
    if (++elements % 1000 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }
  process.stdout.write(`${JSON.stringify({ elements, peakHeap })}\n`);
}

void main(process.argv[2]!);
