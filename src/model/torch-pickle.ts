/**
 * A restricted unpickler for PyTorch state dicts: it understands the binary opcodes that
 * torch.save writes (pickle protocol 2, plus the few protocol-4 ones other writers use) and
 * builds plain values. It never runs code: GLOBAL / STACK_GLOBAL resolve only names on an
 * allow-list (ordered dicts, the tensor and parameter rebuild functions, storage types), and
 * anything else, `posix.system` or `builtins.eval` for instance, stops the load with an
 * UnsafePickleError naming the file and the refused global.
 *
 * Values: None -> null, bools, ints (numbers; bigint when beyond 2^53), floats, str, bytes
 * (Uint8Array), lists and tuples (arrays), dicts and OrderedDicts (Map). Storages come from
 * the format's persistent-id loader; tensors are TensorRef objects whose data the format
 * reader (torch-pth.ts) fills in from the storages afterwards.
 */
import { UserError } from '../util/errors.js';

export class UnsafePickleError extends UserError {
  readonly global: string;
  constructor(file: string, global: string, why: string) {
    super(`${file}: refused: the checkpoint's pickle ${why} '${global}'. acnn loads only plain state dicts (tensors, storages, ordered dicts); a checkpoint must never run code.`);
    this.name = 'UnsafePickleError';
    this.global = global;
  }
}

export class PickleError extends UserError {
  constructor(file: string, message: string) {
    super(`${file}: not a readable PyTorch checkpoint: ${message}`);
    this.name = 'PickleError';
  }
}

/** Element types of torch storages, by the name of their storage class. */
export const STORAGE_DTYPES = {
  FloatStorage: 'F32',
  DoubleStorage: 'F64',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
} as const;
export type StorageDtype = (typeof STORAGE_DTYPES)[keyof typeof STORAGE_DTYPES];

export class StorageType {
  constructor(
    readonly name: string,
    readonly dtype: StorageDtype,
  ) {}
}

/** A storage named by a persistent id; `view` is a legacy-format view into a root storage. */
export interface StorageRef {
  kind: 'storage';
  dtype: StorageDtype;
  key: string;
  location: string;
  numel: number;
  view?: { offset: number; numel: number };
}

export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

/** An allowed callable: REDUCE applies it to its argument tuple. */
class Callable {
  constructor(
    readonly name: string,
    readonly call: (args: unknown[]) => unknown,
  ) {}
}

export type PersistentLoad = (pid: unknown) => unknown;

function asInts(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isInteger(x))) throw new Error(`${what} must be a tuple of ints`);
  return v as number[];
}

function rebuildTensor(args: unknown[]): TensorRef {
  const [storage, offset, size, stride] = args;
  if (!storage || (storage as StorageRef).kind !== 'storage') throw new Error('tensor rebuild without a storage');
  if (typeof offset !== 'number') throw new Error('tensor storage offset must be an int');
  return { kind: 'tensor', storage: storage as StorageRef, offset, shape: asInts(size, 'tensor size'), stride: asInts(stride, 'tensor stride') };
}

function parameterData(args: unknown[]): unknown {
  const data = args[0];
  if (!data || (data as TensorRef).kind !== 'tensor') throw new Error('parameter rebuild without a tensor');
  return data;
}

function orderedDict(args: unknown[]): Map<unknown, unknown> {
  const m = new Map<unknown, unknown>();
  const items = args[0];
  if (Array.isArray(items)) for (const it of items) if (Array.isArray(it) && it.length === 2) m.set(it[0], it[1]);
  return m;
}

/** The allow-list: module -> name -> what it becomes. */
function allowedGlobal(module: string, name: string): Callable | StorageType | undefined {
  const full = `${module}.${name}`;
  switch (full) {
    case 'collections.OrderedDict':
      return new Callable(full, orderedDict);
    case 'torch._utils._rebuild_tensor':
    case 'torch._utils._rebuild_tensor_v2':
      return new Callable(full, rebuildTensor);
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      return new Callable(full, parameterData);
  }
  if ((module === 'torch' || module === 'torch.cuda') && name in STORAGE_DTYPES) {
    return new StorageType(full, STORAGE_DTYPES[name as keyof typeof STORAGE_DTYPES]);
  }
  return undefined;
}

export interface UnpickleResult {
  value: unknown;
  /** Offset just after the STOP opcode (legacy checkpoints hold several pickles in a row). */
  end: number;
}

/**
 * Runs one pickle starting at `offset`. `persistentLoad` resolves BINPERSID ids (storages);
 * without it a persistent id is an error.
 */
export function unpickle(buf: Uint8Array, file: string, persistentLoad?: PersistentLoad, offset = 0): UnpickleResult {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let p = offset;
  const fail = (msg: string): never => {
    throw new PickleError(file, `${msg} (pickle byte ${p})`);
  };
  const need = (n: number) => {
    if (n < 0 || p + n > buf.length) fail(`truncated: needs ${n} more bytes`);
  };
  const u8 = () => (need(1), buf[p++]);
  const u16 = () => (need(2), (p += 2), dv.getUint16(p - 2, true));
  const u32 = () => (need(4), (p += 4), dv.getUint32(p - 4, true));
  const i32 = () => (need(4), (p += 4), dv.getInt32(p - 4, true));
  const u64 = () => {
    need(8);
    const v = dv.getBigUint64(p, true);
    p += 8;
    if (v > BigInt(buf.length)) fail(`length ${v} exceeds the file`);
    return Number(v);
  };
  const bytes = (n: number) => (need(n), (p += n), buf.subarray(p - n, p));
  const text = (n: number) => new TextDecoder().decode(bytes(n));
  const latin1 = (n: number) => String.fromCharCode(...bytes(n));
  const line = () => {
    const nl = buf.indexOf(0x0a, p);
    if (nl < 0) fail('unterminated text line');
    const s = new TextDecoder().decode(buf.subarray(p, nl));
    p = nl + 1;
    return s;
  };
  const pop = () => (stack.length ? stack.pop() : fail('stack underflow'));
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail('no MARK to pop to');
    return stack.splice(m!);
  };
  const top = () => (stack.length ? stack[stack.length - 1] : fail('empty stack'));
  const resolve = (module: string, name: string) => {
    const g = allowedGlobal(module, name);
    if (!g) throw new UnsafePickleError(file, `${module}.${name}`, 'asks for the global');
    return g;
  };
  const setItems = (d: unknown, kv: unknown[]) => {
    if (!(d instanceof Map)) fail('SETITEM(S) on something that is not a dict');
    for (let i = 0; i + 1 < kv.length; i += 2) (d as Map<unknown, unknown>).set(kv[i], kv[i + 1]);
  };
  const long = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  try {
    for (;;) {
      const op = u8();
      switch (op) {
        case 0x80: // PROTO
          if (u8() > 5) fail('unknown pickle protocol');
          break;
        case 0x95: // FRAME
          u64();
          break;
        case 0x2e: // STOP
          return { value: pop(), end: p };
        case 0x28: // MARK
          marks.push(stack.length);
          break;
        case 0x7d: // EMPTY_DICT
          stack.push(new Map());
          break;
        case 0x5d: // EMPTY_LIST
        case 0x29: // EMPTY_TUPLE
          stack.push([]);
          break;
        case 0x74: // TUPLE
          stack.push(popMark());
          break;
        case 0x85: // TUPLE1
          stack.push([pop()]);
          break;
        case 0x86: {
          // TUPLE2
          const b = pop();
          stack.push([pop(), b]);
          break;
        }
        case 0x87: {
          // TUPLE3
          const c = pop();
          const b = pop();
          stack.push([pop(), b, c]);
          break;
        }
        case 0x4a: // BININT
          stack.push(i32());
          break;
        case 0x4b: // BININT1
          stack.push(u8());
          break;
        case 0x4d: // BININT2
          stack.push(u16());
          break;
        case 0x8a: // LONG1
          stack.push(long(bytes(u8())));
          break;
        case 0x8b: {
          // LONG4
          const n = i32();
          stack.push(long(bytes(n)));
          break;
        }
        case 0x47: // BINFLOAT (big-endian double)
          need(8);
          stack.push(dv.getFloat64(p, false));
          p += 8;
          break;
        case 0x58: // BINUNICODE
          stack.push(text(u32()));
          break;
        case 0x8c: // SHORT_BINUNICODE
          stack.push(text(u8()));
          break;
        case 0x8d: // BINUNICODE8
          stack.push(text(u64()));
          break;
        case 0x54: // BINSTRING (Python 2 str)
          stack.push(latin1(i32()));
          break;
        case 0x55: // SHORT_BINSTRING
          stack.push(latin1(u8()));
          break;
        case 0x42: // BINBYTES
          stack.push(bytes(u32()).slice());
          break;
        case 0x43: // SHORT_BINBYTES
          stack.push(bytes(u8()).slice());
          break;
        case 0x4e: // NONE
          stack.push(null);
          break;
        case 0x88: // NEWTRUE
          stack.push(true);
          break;
        case 0x89: // NEWFALSE
          stack.push(false);
          break;
        case 0x71: // BINPUT
          memo.set(u8(), top());
          break;
        case 0x72: // LONG_BINPUT
          memo.set(u32(), top());
          break;
        case 0x94: // MEMOIZE
          memo.set(memo.size, top());
          break;
        case 0x68: // BINGET
        case 0x6a: {
          // LONG_BINGET
          const k = op === 0x68 ? u8() : u32();
          if (!memo.has(k)) fail(`memo key ${k} was never stored`);
          stack.push(memo.get(k));
          break;
        }
        case 0x73: {
          // SETITEM
          const v = pop();
          const k = pop();
          setItems(top(), [k, v]);
          break;
        }
        case 0x75: {
          // SETITEMS
          const kv = popMark();
          setItems(top(), kv);
          break;
        }
        case 0x61: {
          // APPEND
          const v = pop();
          const l = top();
          if (!Array.isArray(l)) fail('APPEND to something that is not a list');
          (l as unknown[]).push(v);
          break;
        }
        case 0x65: {
          // APPENDS
          const items = popMark();
          const l = top();
          if (!Array.isArray(l)) fail('APPENDS to something that is not a list');
          (l as unknown[]).push(...items);
          break;
        }
        case 0x63: {
          // GLOBAL "module\nname\n"
          const module = line();
          const name = line();
          stack.push(resolve(module, name));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = pop();
          const module = pop();
          if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
          stack.push(resolve(module as string, name as string));
          break;
        }
        case 0x52: {
          // REDUCE
          const args = pop();
          const fn = pop();
          if (!(fn instanceof Callable)) {
            const what = fn instanceof StorageType ? fn.name : typeof fn;
            throw new UnsafePickleError(file, what, 'calls something that is not an allowed function:');
          }
          if (!Array.isArray(args)) fail(`REDUCE of ${fn.name} without an argument tuple`);
          stack.push(fn.call(args as unknown[]));
          break;
        }
        case 0x62: {
          // BUILD: state set on an object. OrderedDicts carry `_metadata` (module versions); dropped.
          const state = pop();
          const obj = top();
          void state;
          if (!(obj instanceof Map) && (obj as TensorRef | null)?.kind !== 'tensor') fail('BUILD on an object that is not a dict or tensor');
          break;
        }
        case 0x51: {
          // BINPERSID
          const pid = pop();
          if (!persistentLoad) fail('a persistent id where none is expected');
          stack.push(persistentLoad!(pid));
          break;
        }
        case 0x30: // POP
          pop();
          break;
        case 0x31: // POP_MARK
          popMark();
          break;
        case 0x32: // DUP
          stack.push(top());
          break;
        case 0x81: // NEWOBJ
        case 0x92: // NEWOBJ_EX
          throw new UnsafePickleError(file, describeCallable(stack[stack.length - 2] ?? stack[stack.length - 1]), 'constructs an object of');
        case 0x69: // INST
        case 0x6f: // OBJ
          throw new UnsafePickleError(file, op === 0x69 ? `${line()}.${line()}` : describeCallable(stack[marks[marks.length - 1] ?? 0]), 'constructs an object of');
        default:
          fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
      }
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new PickleError(file, (err as Error).message);
  }
}

function describeCallable(v: unknown): string {
  return v instanceof Callable || v instanceof StorageType ? v.name : 'an unknown class';
}

/** The persistent id of a storage, as both checkpoint formats write it. */
export function storageFromPid(pid: unknown, file: string): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage') throw new PickleError(file, `unexpected persistent id ${JSON.stringify(pid)?.slice(0, 80)}`);
  const [, type, key, location, numel, view] = pid as [string, unknown, unknown, unknown, unknown, unknown];
  if (!(type instanceof StorageType)) throw new PickleError(file, 'a storage without a storage type');
  if (typeof key !== 'string' || typeof numel !== 'number') throw new PickleError(file, 'a storage id without a key and an element count');
  const ref: StorageRef = { kind: 'storage', dtype: type.dtype, key, location: String(location), numel };
  if (Array.isArray(view)) {
    const [, offset, size] = view as [unknown, unknown, unknown];
    if (typeof offset !== 'number' || typeof size !== 'number') throw new PickleError(file, 'a storage view without offset and size');
    ref.view = { offset, numel: size };
  }
  return ref;
}
