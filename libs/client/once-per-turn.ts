/**
 * Returns a function that runs `run` once, in a later turn of the event loop, however often it is called before then.
 * Subscriptions made by many components in one turn (a page mounting its panels) thus leave as one request.
 */
export function oncePerTurn(run: () => void): () => void {
  let scheduled = false;
  return () => {
    if (scheduled) return;
    scheduled = true;
    setTimeout(() => {
      scheduled = false;
      run();
    }, 0);
  };
}
