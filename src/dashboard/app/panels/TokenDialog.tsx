import { useEffect, useRef, useState } from 'react';

/** Asks for a token: none in the address, or the gateway refused the one we had. */
export function TokenDialog({ reason, onToken, onCancel }: { reason: string | null; onToken: (token: string) => void; onCancel: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [value, setValue] = useState('');
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (reason !== null && !element.open) {
      setValue('');
      element.showModal();
    } else if (reason === null && element.open) {
      element.close();
    }
  }, [reason]);
  return (
    <dialog id="tokenDialog" ref={dialog} onCancel={onCancel}>
      <form
        method="dialog"
        id="tokenForm"
        onSubmit={(event) => {
          const submitter = event.nativeEvent.submitter;
          if (submitter instanceof HTMLButtonElement && submitter.value === 'ok' && value.trim()) onToken(value.trim());
          else onCancel();
        }}
      >
        <h3>Access token</h3>
        <p id="tokenReason">{reason}</p>
        <textarea id="tokenInput" rows={5} spellCheck={false} placeholder="eyJhbGciOi…" value={value} onChange={(e) => setValue(e.target.value)} autoFocus />
        <div className="dialog-actions">
          <button className="btn ghost" value="cancel" type="submit" formNoValidate>
            Cancel
          </button>
          <button className="btn primary" value="ok" type="submit" id="tokenOk">
            Use token
          </button>
        </div>
      </form>
    </dialog>
  );
}
