import { getEventListeners } from 'node:events';
import { linkedSignal } from '../../src/catalog/linkedSignal';

test('fires with the first source that fires, and with its reason', () => {
  const first = new AbortController();
  const second = new AbortController();
  const linked = linkedSignal(first.signal, undefined, second.signal);
  expect(linked.signal.aborted).toBe(false);
  second.abort(new Error('second'));
  expect(linked.signal.reason).toEqual(new Error('second'));
  first.abort(new Error('first'));
  expect(linked.signal.reason).toEqual(new Error('second'));
});

test('an already aborted source aborts it at once; abort() gives its own reason', () => {
  expect(linkedSignal(AbortSignal.abort('gone')).signal.reason).toBe('gone');
  const linked = linkedSignal(new AbortController().signal);
  linked.abort('timeout');
  expect(linked.signal.reason).toBe('timeout');
});

test('leaves no listener on its sources once disposed or fired: a long-lived pass signal does not grow', () => {
  const pass = new AbortController();
  for (let index = 0; index < 100; index++) linkedSignal(pass.signal).dispose();
  const fired = linkedSignal(pass.signal);
  fired.abort('done');
  expect(getEventListeners(pass.signal, 'abort')).toHaveLength(0);
  const open = linkedSignal(pass.signal);
  expect(getEventListeners(pass.signal, 'abort')).toHaveLength(1);
  open.dispose();
  expect(getEventListeners(pass.signal, 'abort')).toHaveLength(0);
});
