/**
 * Did Ollama run during a stored session? A verdict of "silent" means something only when Ollama
 * was there to be silent. From the session's own flows (live and imported alike):
 * - a flow owned by a process of the Ollama tree, except an unanswered API connection (the CLI
 *   knocking on a port nobody listens on shows only that a client tried);
 * - an API connection that was answered (something served the API port);
 * - runner traffic (the server talking to a model runner).
 * A live verify also samples /proc while it captures (an idle server has no flow).
 */
import type { FlowFact, SessionFacts } from './session-facts.js';

/** One line saying what shows Ollama ran in this session, or null when nothing does. */
export function ollamaRanEvidence(facts: SessionFacts): string | null {
  let found: string | null = null;
  facts.flows.some((f) => (found = ranText(f)) !== null);
  return found;
}

function ranText(f: Readonly<FlowFact>): string | null {
  const unansweredApi = f.isApi && !f.answered;
  if (f.owner === 'ollama' && !unansweredApi) return `flow #${f.id} (${f.activity}) of ${f.process?.name ?? 'an Ollama process'} pid ${f.process?.pid ?? '?'}`;
  if (f.isApi && f.answered) return `an answered API connection (flow #${f.id}, ${f.activity})`;
  if (f.activity === 'runner') return `runner traffic (flow #${f.id})`;
  return null;
}
