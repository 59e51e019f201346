/**
 * A signal that fires when any of the given ones does (or when `abort` is called), and stops listening
 * to them on `dispose()`. What `AbortSignal.any` does, without its cost per request: `any` keeps every
 * signal it made reachable from its sources until they are collected (weak references, a registry),
 * and a pass's signal is the source of every request of the pass. Listeners removed at the end of each
 * request leave nothing behind.
 */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  abort(reason: unknown): void;
  dispose(): void;
}

export function linkedSignal(...sources: ReadonlyArray<AbortSignal | undefined>): LinkedSignal {
  const controller = new AbortController();
  const listening: Array<[AbortSignal, () => void]> = [];
  const dispose = (): void => {
    for (const [source, listener] of listening) source.removeEventListener('abort', listener);
    listening.length = 0;
  };
  for (const source of sources) {
    if (!source) continue;
    if (source.aborted) {
      dispose();
      controller.abort(source.reason);
      break;
    }
    const listener = (): void => {
      dispose();
      controller.abort(source.reason);
    };
    source.addEventListener('abort', listener, { once: true });
    listening.push([source, listener]);
  }
  return {
    signal: controller.signal,
    abort: (reason) => {
      dispose();
      controller.abort(reason);
    },
    dispose,
  };
}
