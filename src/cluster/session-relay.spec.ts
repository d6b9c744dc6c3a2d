import { describe, expect, it } from 'vitest';
import { sessionSlotOf } from './session-relay.js';

describe('sessionSlotOf: the worker a Socket.IO request belongs to', () => {
  const path = '/socket.io/';

  it('reads the slot from a session id the gateway made', () => {
    expect(sessionSlotOf('/socket.io/?EIO=4&transport=polling&t=abc&sid=w2-Zm9vYmFyYmF6cXV4eHl6', path)).toBe(2);
    expect(sessionSlotOf('/socket.io/?sid=w12-abc&EIO=4&transport=websocket', path)).toBe(12);
  });

  it('has none for a new session, another path or a session id of another form', () => {
    expect(sessionSlotOf('/socket.io/?EIO=4&transport=polling&t=abc', path)).toBeUndefined();
    expect(sessionSlotOf('/admin/nodes?sid=w2-abc', path)).toBeUndefined();
    expect(sessionSlotOf('/socket.io/?EIO=4&sid=Zm9vYmFyYmF6cXV4eHl6', path)).toBeUndefined();
    expect(sessionSlotOf('/socket.io/?EIO=4&sid=w-abc', path)).toBeUndefined();
  });
});
