import { useEffect } from "react";
import { useApp } from "../context.js";
import type { Toast } from "../state.js";

/** How long a toast stays before it dismisses itself, by level (errors stay longest). */
const TOAST_MS: Record<Toast["level"], number> = { info: 6_000, warn: 10_000, error: 15_000 };

function ToastItem({ toast }: { toast: Toast }) {
  const { dispatch } = useApp();
  useEffect(() => {
    const timer = setTimeout(() => dispatch({ type: "dismiss", id: toast.id }), TOAST_MS[toast.level]);
    return () => clearTimeout(timer);
  }, [dispatch, toast.id, toast.level]);
  return (
    <li className={`toast toast-${toast.level}`}>
      <span>{toast.text}</span>
      <button type="button" aria-label="Dismiss" onClick={() => dispatch({ type: "dismiss", id: toast.id })}>
        ×
      </button>
    </li>
  );
}

export function Toasts() {
  const { state } = useApp();
  return (
    <ul className="toasts" role="alert" aria-live="assertive">
      {state.toasts.map((toast) => (
        <ToastItem key={toast.id} toast={toast} />
      ))}
    </ul>
  );
}
