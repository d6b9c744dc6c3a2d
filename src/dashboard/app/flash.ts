import { useEffect, useRef, type RefObject } from 'react';

const FRESH = 'rgba(77, 163, 255, 0.16)';
const UP = 'rgba(47, 208, 143, 0.3)';
const DOWN = 'rgba(255, 95, 109, 0.3)';

/** A short background flash, through the Web Animations API (no inline style, so a strict CSP allows it). */
export function flash(element: Element | null, tone: 'fresh' | 'up' | 'down', durationMs = 800): void {
  if (!element || typeof element.animate !== 'function') return;
  const colour = tone === 'up' ? UP : tone === 'down' ? DOWN : FRESH;
  element.animate([{ backgroundColor: colour }, { backgroundColor: 'rgba(0, 0, 0, 0)' }], { duration: durationMs, easing: 'ease-out' });
}

/**
 * Flashes the element whenever `value` changes identity after the first render (a store hands out a new object per
 * update): a row or card that just changed catches the eye.
 */
export function useFlashOnChange<E extends Element>(value: unknown): RefObject<E | null> {
  const ref = useRef<E>(null);
  const previous = useRef(value);
  useEffect(() => {
    if (previous.current === value) return;
    previous.current = value;
    flash(ref.current, 'fresh', 900);
  }, [value]);
  return ref;
}
