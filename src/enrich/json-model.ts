/**
 * Finds the model an Ollama API request names: the top-level `model` string of its JSON body (and
 * the older `name` where the route takes it), read byte by byte as the body arrives, across
 * segments and chunks. Nothing else of the body is kept: every other byte is looked at once to
 * follow the JSON structure (strings, escapes, nesting) and dropped; the only copy is of the
 * model field's value, into a fixed buffer of MAX_MODEL_NAME bytes, and it becomes a string only
 * once it is known to be a valid model name (knowledge/model-names.ts). The prompt never does.
 *
 *   const s = newModelScan();
 *   modelScanStart(s, ['model', 'name']);    // a new request's body
 *   modelScanBytes(s, buf, from, to);        // each piece of the body, in order; stops by itself
 *   modelScanDone(s)                         // true once more bytes cannot change the result
 *   modelScanResult(s, bodyComplete)         // { model, status } (status: knowledge/model-names.ts)
 *
 * Go's encoding/json (which the server decodes with) matches keys case-insensitively and lets a
 * `null` leave a field unset; both are followed here. A duplicate key later in the body (Go keeps
 * the last) is not: the first model found ends the scan. Bounded: MODEL_SCAN_LIMIT bytes per
 * body, nesting tracked to 32 levels.
 */
import { hexValue } from './http.js';
import type { ModelField } from '../knowledge/api-endpoints.js';
import { isModelNameChar, isValidModelName, MAX_MODEL_NAME, MODEL_SCAN_LIMIT, type ModelStatus } from '../knowledge/model-names.js';

// Where the lexer is.
const L_START = 0;     // before the top-level value
const L_OBJ_FIRST = 1; // after `{`: a key or `}`
const L_KEY = 2;       // after `,` in an object: a key
const L_COLON = 3;
const L_VALUE = 4;     // after `:` or `,` in an array
const L_ARR_FIRST = 5; // after `[`: a value or `]`
const L_AFTER = 6;     // after a value: `,` or the container's close
const L_STRING = 7;
const L_ESC = 8;
const L_UHEX = 9;
const L_LITERAL = 10;  // a number, true, false or null
const L_DONE = 11;

// What the string being read is.
const R_SKIP = 0;
const R_KEY = 1;
const R_CAPTURE = 2;

const F_MODEL = 1;
const F_NAME = 2;

// A field's outcome.
const FS_NONE = 0;
const FS_FOUND = 1;
const FS_INVALID = 2;
const FS_NOT_STRING = 3;

// Why the scan stopped before the body ended.
const STOP_NONE = 0;
const STOP_NOT_JSON = 1;
const STOP_LIMIT = 2;

const MAX_DEPTH = 32;
const KEY_MODEL = [0x6d, 0x6f, 0x64, 0x65, 0x6c]; // model
const KEY_NAME = [0x6e, 0x61, 0x6d, 0x65];        // name

export interface ModelScan {
  /** F_MODEL | F_NAME: the fields this route takes. */
  fields: number;
  lex: number;
  depth: number;
  /** Bit d-1 set when nesting level d is an array. */
  arrays: number;
  role: number;
  /** Fields a key being read can still be; characters of it read. */
  keyCand: number;
  keyPos: number;
  /** The field whose value comes next (a matching top-level key was just read). */
  pending: number;
  capField: number;
  hex: number;
  hexLeft: number;
  /** The value of a model field being read; valBad once it cannot be a model name. */
  val: Buffer;
  valLen: number;
  valBad: boolean;
  /** Body bytes looked at. */
  seen: number;
  stop: number;
  /** Top-level value closed: the rest of the body cannot matter. */
  closed: boolean;
  model: string | null;
  modelState: number;
  name: string | null;
  nameState: number;
}

export function newModelScan(): ModelScan {
  return {
    fields: 0, lex: L_DONE, depth: 0, arrays: 0, role: R_SKIP, keyCand: 0, keyPos: 0, pending: 0, capField: 0,
    hex: 0, hexLeft: 0, val: Buffer.alloc(MAX_MODEL_NAME), valLen: 0, valBad: false, seen: 0, stop: STOP_NONE,
    closed: false, model: null, modelState: FS_NONE, name: null, nameState: FS_NONE,
  };
}

/** Starts on a new body whose model is in `fields` (`model`, and maybe `name`). */
export function modelScanStart(s: ModelScan, fields: readonly ModelField[]): void {
  s.fields = (fields.includes('model') ? F_MODEL : 0) | (fields.includes('name') ? F_NAME : 0);
  s.lex = L_START;
  s.depth = 0;
  s.arrays = 0;
  s.role = R_SKIP;
  s.pending = 0;
  s.seen = 0;
  s.stop = STOP_NONE;
  s.closed = false;
  s.model = null;
  s.modelState = FS_NONE;
  s.name = null;
  s.nameState = FS_NONE;
}

/** True once no further body byte can change the result. */
export function modelScanDone(s: ModelScan): boolean {
  return s.lex === L_DONE;
}

/** Feeds body bytes buf[from, to). */
export function modelScanBytes(s: ModelScan, buf: Buffer, from: number, to: number): void {
  for (let i = from; i < to && s.lex !== L_DONE; i++) {
    if (s.seen >= MODEL_SCAN_LIMIT) {
      s.stop = STOP_LIMIT;
      s.lex = L_DONE;
      return;
    }
    s.seen++;
    step(s, buf[i]);
  }
}

/**
 * The model the body named (validated) and why there is none. `bodyComplete`: the whole body was
 * fed (its length or last chunk reached); otherwise an unfinished scan is `unread`.
 */
export function modelScanResult(s: ModelScan, bodyComplete: boolean): { model: string | null; status: ModelStatus } {
  const model = fieldResult(s.modelState, s.model);
  if (model !== null) return model;
  // `name` counts only where `model` is unset ([src] server/routes.go cmp.Or(req.Model, req.Name)).
  const name = fieldResult(s.nameState, s.name);
  if (name !== null) return name;
  if (s.stop === STOP_NOT_JSON) return { model: null, status: 'not-json' };
  if (s.stop === STOP_LIMIT) return { model: null, status: 'past-limit' };
  if (s.closed) return { model: null, status: 'absent' };
  if (!bodyComplete) return { model: null, status: 'unread' };
  // The body ended: empty (no model named), or inside the JSON (not a whole object).
  return { model: null, status: s.seen === 0 ? 'absent' : 'not-json' };
}

function fieldResult(state: number, value: string | null): { model: string | null; status: ModelStatus } | null {
  if (state === FS_FOUND) return { model: value, status: 'found' };
  if (state === FS_INVALID) return { model: null, status: 'invalid' };
  if (state === FS_NOT_STRING) return { model: null, status: 'not-a-string' };
  return null;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function step(s: ModelScan, c: number): void {
  switch (s.lex) {
    case L_STRING:
      if (c === 0x22) endString(s);
      else if (c === 0x5c) s.lex = L_ESC;
      else if (c < 0x20) notJson(s); // a raw control character is not allowed in a JSON string
      else stringChar(s, c);
      return;
    case L_ESC:
      escape(s, c);
      return;
    case L_UHEX: {
      const v = hexValue(c);
      if (v < 0) { notJson(s); return; }
      s.hex = s.hex * 16 + v;
      if (--s.hexLeft === 0) {
        s.lex = L_STRING;
        stringChar(s, s.hex);
      }
      return;
    }
    case L_LITERAL:
      if (isLiteralChar(c)) return;
      s.lex = L_AFTER;
      step(s, c);
      return;
    default:
      if (!isSpace(c)) structural(s, c);
  }
}

function structural(s: ModelScan, c: number): void {
  switch (s.lex) {
    case L_START:
      if (c === 0x7b) open(s, false);
      else notJson(s); // not an object: it names no model
      return;
    case L_OBJ_FIRST:
      if (c === 0x7d) close(s, false);
      else if (c === 0x22) beginKey(s);
      else notJson(s);
      return;
    case L_KEY:
      if (c === 0x22) beginKey(s);
      else notJson(s);
      return;
    case L_COLON:
      if (c === 0x3a) s.lex = L_VALUE;
      else notJson(s);
      return;
    case L_ARR_FIRST:
      if (c === 0x5d) close(s, true);
      else value(s, c);
      return;
    case L_VALUE:
      value(s, c);
      return;
    case L_AFTER: {
      const inArray = (s.arrays & (1 << (s.depth - 1))) !== 0;
      if (c === 0x2c) s.lex = inArray ? L_VALUE : L_KEY;
      else if (c === 0x7d || c === 0x5d) close(s, c === 0x5d);
      else notJson(s);
      return;
    }
  }
}

/** The first byte of a value; a top-level model/name key's value is judged by it. */
function value(s: ModelScan, c: number): void {
  const field = s.pending;
  s.pending = 0;
  if (c === 0x22) {
    s.lex = L_STRING;
    if (field === 0) {
      s.role = R_SKIP;
    } else {
      s.role = R_CAPTURE;
      s.capField = field;
      s.valLen = 0;
      s.valBad = false;
    }
    return;
  }
  if (c === 0x7b || c === 0x5b) {
    if (field !== 0) setField(s, field, FS_NOT_STRING, null);
    if (s.lex !== L_DONE) open(s, c === 0x5b);
    return;
  }
  if (c === 0x2d || (c >= 0x30 && c <= 0x39) || c === 0x74 || c === 0x66 || c === 0x6e) {
    // `null` leaves a Go struct field as it was: not a value for it.
    if (field !== 0 && c !== 0x6e) setField(s, field, FS_NOT_STRING, null);
    if (s.lex !== L_DONE) s.lex = L_LITERAL;
    return;
  }
  notJson(s);
}

function open(s: ModelScan, isArray: boolean): void {
  if (s.depth >= MAX_DEPTH) { notJson(s); return; }
  if (isArray) s.arrays |= 1 << s.depth;
  else s.arrays &= ~(1 << s.depth);
  s.depth++;
  s.lex = isArray ? L_ARR_FIRST : L_OBJ_FIRST;
}

function close(s: ModelScan, isArray: boolean): void {
  const wasArray = (s.arrays & (1 << (s.depth - 1))) !== 0;
  if (s.depth === 0 || wasArray !== isArray) { notJson(s); return; }
  s.depth--;
  if (s.depth === 0) {
    s.closed = true;
    s.lex = L_DONE;
  } else {
    s.lex = L_AFTER;
  }
}

function beginKey(s: ModelScan): void {
  s.lex = L_STRING;
  s.role = R_KEY;
  s.keyPos = 0;
  // Only the top-level object's keys name the request's model: `model` inside a message does not.
  s.keyCand = s.depth === 1 ? s.fields : 0;
}

function stringChar(s: ModelScan, code: number): void {
  if (s.role === R_KEY) {
    if (s.keyCand === 0) return;
    // ASCII case folding, as Go's encoding/json matches field names ("Model" sets Model).
    const lower = code >= 0x41 && code <= 0x5a ? code | 0x20 : code;
    if ((s.keyCand & F_MODEL) !== 0 && KEY_MODEL[s.keyPos] !== lower) s.keyCand &= ~F_MODEL;
    if ((s.keyCand & F_NAME) !== 0 && KEY_NAME[s.keyPos] !== lower) s.keyCand &= ~F_NAME;
    s.keyPos++;
  } else if (s.role === R_CAPTURE) {
    if (s.valBad) return;
    if (s.valLen >= MAX_MODEL_NAME || !isModelNameChar(code)) s.valBad = true;
    else s.val[s.valLen++] = code;
  }
}

function endString(s: ModelScan): void {
  if (s.role === R_KEY) {
    let field = 0;
    if ((s.keyCand & F_MODEL) !== 0 && s.keyPos === KEY_MODEL.length) field = F_MODEL;
    else if ((s.keyCand & F_NAME) !== 0 && s.keyPos === KEY_NAME.length) field = F_NAME;
    s.pending = field;
    s.lex = L_COLON;
    return;
  }
  s.lex = L_AFTER;
  if (s.role !== R_CAPTURE) return;
  s.role = R_SKIP;
  // An empty string is an unset field in Go (and makes the server fall back from model to name).
  if (s.valLen === 0 && !s.valBad) return;
  const text = s.valBad ? '' : s.val.toString('latin1', 0, s.valLen);
  if (s.valBad || !isValidModelName(text)) setField(s, s.capField, FS_INVALID, null);
  else setField(s, s.capField, FS_FOUND, text);
}

/** Records a field's outcome; `model` decides the request, so it ends the scan. */
function setField(s: ModelScan, field: number, state: number, value: string | null): void {
  if (field === F_MODEL) {
    s.modelState = state;
    s.model = value;
    s.lex = L_DONE;
  } else {
    s.nameState = state;
    s.name = value;
  }
}

function escape(s: ModelScan, c: number): void {
  let code: number;
  switch (c) {
    case 0x22: case 0x5c: case 0x2f: code = c; break; // \" \\ \/
    case 0x62: code = 0x08; break;
    case 0x66: code = 0x0c; break;
    case 0x6e: code = 0x0a; break;
    case 0x72: code = 0x0d; break;
    case 0x74: code = 0x09; break;
    case 0x75: // \uXXXX
      s.lex = L_UHEX;
      s.hex = 0;
      s.hexLeft = 4;
      return;
    default:
      notJson(s);
      return;
  }
  s.lex = L_STRING;
  stringChar(s, code);
}

function notJson(s: ModelScan): void {
  s.stop = STOP_NOT_JSON;
  s.lex = L_DONE;
}

function isLiteralChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x2b || c === 0x2d || c === 0x2e;
}
