// lambdahost's Node.js runtime: a Lambda Runtime API client (nodejs18.x - nodejs22.x).
//
// Started by the environment as `node bootstrap.js` with cwd = LAMBDA_TASK_ROOT. Loads
// `_HANDLER` ("dir/module.fn", the function may be a dotted path) as CommonJS
// (`require`) or as an ES module (dynamic `import()` for .mjs, or .js under a
// package.json with "type": "module"), then loops: GET /next, run the handler (async, or
// callback style), POST /response or /error. Supports `awslambda.streamifyResponse`
// (chunked response with Lambda-Runtime-Function-Response-Mode: streaming), the Node
// `context` object, and console logging in Lambda's text and JSON formats.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const util = require('util');
const { pathToFileURL } = require('url');

const API = process.env.AWS_LAMBDA_RUNTIME_API;
const BASE = '/2018-06-01/runtime';
const [HOST, PORT] = API.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
const TASK_ROOT = process.env.LAMBDA_TASK_ROOT || process.cwd();
const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HTTP_PRELUDE_TYPE = 'application/vnd.awslambda.http-integration-response';

let currentRequestId;
let inflight = null; // {requestId, done} while an invocation runs

// -- logging ---------------------------------------------------------------------------------
const JSON_LOGS = (process.env.AWS_LAMBDA_LOG_FORMAT || '').toUpperCase() === 'JSON';
const LEVELS = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4, FATAL: 5 };
const MIN_LEVEL = JSON_LOGS ? (LEVELS[(process.env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase()] ?? 0) : 0;

function writeLog(level, args) {
  if (LEVELS[level] < MIN_LEVEL) return;
  const time = new Date().toISOString();
  let line;
  if (JSON_LOGS) {
    const rec = { timestamp: time, level, requestId: currentRequestId, message: util.format(...args) };
    line = JSON.stringify(rec);
  } else {
    line = `${time}\t${currentRequestId}\t${level}\t${util.format(...args).replace(/\n/g, '\r')}`;
  }
  fs.writeSync(1, line + '\n');
}

console.log = (...a) => writeLog('INFO', a);
console.info = (...a) => writeLog('INFO', a);
console.warn = (...a) => writeLog('WARN', a);
console.error = (...a) => writeLog('ERROR', a);
console.debug = (...a) => writeLog('DEBUG', a);
console.trace = (...a) => writeLog('TRACE', a);
console.fatal = (...a) => writeLog('FATAL', a);

// -- errors ------------------------------------------------------------------------------------
function toError(err, fallbackType) {
  if (err instanceof Error) {
    return {
      errorType: err.name && err.name !== 'Error' ? err.name : (err.constructor && err.constructor.name) || fallbackType || 'Error',
      errorMessage: err.message,
      trace: String(err.stack || '').split('\n'),
    };
  }
  return { errorType: typeof err, errorMessage: String(err), trace: [] };
}

class UserError extends Error {
  constructor(name, message, cause) {
    super(message);
    this.name = name;
    if (cause && cause.stack) this.stack = `${name}: ${message}\n${cause.stack}`;
  }
}

// -- the Runtime API -----------------------------------------------------------------------
function request(method, urlPath, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port: PORT, method, path: urlPath, agent, headers: headers || {} }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function post(urlPath, payload, extraHeaders) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  return request('POST', urlPath, body, Object.assign({ 'Content-Type': 'application/json', 'Content-Length': body.length }, extraHeaders));
}

async function postError(urlPath, err) {
  const doc = toError(err);
  writeLog('ERROR', [`Invoke Error \t${JSON.stringify({ errorType: doc.errorType, errorMessage: doc.errorMessage, stack: doc.trace })}`]);
  await post(urlPath, JSON.stringify(doc), { 'Lambda-Runtime-Function-Error-Type': doc.errorType });
}

// -- loading the handler ---------------------------------------------------------------------
function moduleType(file) {
  let dir = path.dirname(file);
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        return JSON.parse(fs.readFileSync(pkg, 'utf8')).type === 'module' ? 'esm' : 'cjs';
      } catch (e) {
        return 'cjs';
      }
    }
    const parent = path.dirname(dir);
    if (dir === TASK_ROOT || parent === dir) return 'cjs';
    dir = parent;
  }
}

async function loadHandler(spec) {
  const dir = path.dirname(spec);
  const base = path.basename(spec);
  const dot = base.indexOf('.');
  if (dot < 1) throw new UserError('Runtime.MalformedHandlerName', `Bad handler ${spec}`);
  const moduleName = base.slice(0, dot);
  const attrs = base.slice(dot + 1).split('.');
  const stem = path.resolve(TASK_ROOT, dir, moduleName);
  let mod;
  try {
    if (fs.existsSync(stem + '.mjs')) {
      mod = await import(pathToFileURL(stem + '.mjs').href);
    } else if (fs.existsSync(stem + '.cjs')) {
      mod = require(stem + '.cjs');
    } else if (fs.existsSync(stem + '.js')) {
      mod = moduleType(stem + '.js') === 'esm' ? await import(pathToFileURL(stem + '.js').href) : require(stem + '.js');
    } else {
      mod = require(require.resolve(moduleName, { paths: [path.resolve(TASK_ROOT, dir), ...(process.env.NODE_PATH || '').split(':').filter(Boolean)] }));
    }
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserError('Runtime.UserCodeSyntaxError', `${e.name}: ${e.message}`, e);
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new UserError('Runtime.ImportModuleError', `Error: ${String(e.message).split('\n')[0]}`, e);
    }
    throw e;
  }
  let fn = mod;
  for (const a of attrs) fn = fn == null ? undefined : fn[a];
  if (fn === undefined && mod && mod.default) {
    fn = mod.default;
    for (const a of attrs) fn = fn == null ? undefined : fn[a];
  }
  if (typeof fn !== 'function') {
    throw new UserError('Runtime.HandlerNotFound', `${base} is undefined or not exported`);
  }
  return fn;
}

// -- awslambda globals ------------------------------------------------------------------------
class HttpResponseStream {
  static from(stream, metadata) {
    stream.setContentType(HTTP_PRELUDE_TYPE);
    stream.write(JSON.stringify(metadata || {}));
    stream.write(Buffer.alloc(8));
    return stream;
  }
}

globalThis.awslambda = {
  streamifyResponse(handler) {
    handler[STREAMING] = true;
    return handler;
  },
  HttpResponseStream,
};

function openResponseStream(requestId) {
  let contentType = 'application/octet-stream';
  let req = null;
  let finished;
  const done = new Promise((resolve, reject) => { finished = { resolve, reject }; });
  const start = () => {
    if (req) return req;
    req = http.request({
      host: HOST, port: PORT, method: 'POST', agent,
      path: `${BASE}/invocation/${requestId}/response`,
      headers: {
        'Content-Type': contentType,
        'Lambda-Runtime-Function-Response-Mode': 'streaming',
        'Transfer-Encoding': 'chunked',
        Trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
      },
    }, (res) => { res.resume(); res.on('end', () => finished.resolve(res.statusCode)); });
    req.on('error', (e) => finished.reject(e));
    return req;
  };
  const stream = {
    setContentType(t) { contentType = t; },
    write(chunk, encoding, cb) { const r = start().write(chunk, encoding, cb); return r; },
    end(chunk, encoding, cb) { start(); if (!stream.ended) { stream.ended = true; req.end(chunk, encoding, cb); } },
    fail(err) {
      start();
      const doc = toError(err);
      req.addTrailers({
        'Lambda-Runtime-Function-Error-Type': doc.errorType,
        'Lambda-Runtime-Function-Error-Body': Buffer.from(JSON.stringify(doc)).toString('base64'),
      });
      stream.end();
    },
    on(event, fn) { start().on(event, fn); return stream; },
    once(event, fn) { start().once(event, fn); return stream; },
    ended: false,
    done,
  };
  return stream;
}

// -- invocations ------------------------------------------------------------------------------
function makeContext(headers, onDone) {
  const deadline = Number(headers['lambda-runtime-deadline-ms'] || 0);
  const env = process.env;
  const parse = (v) => { if (!v) return undefined; try { return JSON.parse(v); } catch (e) { return undefined; } };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: parse(headers['lambda-runtime-cognito-identity']),
    clientContext: parse(headers['lambda-runtime-client-context']),
    tenantId: headers['lambda-runtime-aws-tenant-id'],
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: (err, result) => onDone(err, result),
    succeed: (result) => onDone(null, result),
    fail: (err) => onDone(err || 'handled', undefined),
  };
}

function runHandler(handler, event, headers) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== null && err !== undefined) reject(err); else resolve(result);
    };
    const context = makeContext(headers, finish);
    let out;
    try {
      out = handler.length >= 3 ? handler(event, context, finish) : handler(event, context);
    } catch (e) {
      finish(e);
      return;
    }
    if (out && typeof out.then === 'function') {
      out.then((r) => finish(null, r), (e) => finish(e === undefined || e === null ? new Error(String(e)) : e));
    } else if (handler.length < 3) {
      finish(null, out);
    }
  });
}

async function invokeOnce(handler) {
  const next = await request('GET', `${BASE}/invocation/next`);
  const headers = next.headers;
  const requestId = headers['lambda-runtime-aws-request-id'];
  currentRequestId = requestId;
  const trace = headers['lambda-runtime-trace-id'];
  if (trace) process.env._X_AMZN_TRACE_ID = trace; else delete process.env._X_AMZN_TRACE_ID;
  inflight = { requestId };
  let event;
  try {
    event = JSON.parse(next.body.toString('utf8') || '{}');
  } catch (e) {
    await postError(`${BASE}/invocation/${requestId}/error`, new UserError('Runtime.UnmarshalError', `Unable to parse the event: ${e.message}`));
    inflight = null;
    return;
  }
  if (handler[STREAMING]) {
    const stream = openResponseStream(requestId);
    const context = makeContext(headers, () => {});
    try {
      await handler(event, stream, context);
      if (!stream.ended) stream.end();
    } catch (e) {
      writeLog('ERROR', [`Invoke Error \t${JSON.stringify(toError(e))}`]);
      stream.fail(e);
    }
    await stream.done.catch(() => {});
    inflight = null;
    return;
  }
  let result;
  try {
    result = await runHandler(handler, event, headers);
  } catch (e) {
    await postError(`${BASE}/invocation/${requestId}/error`, e);
    inflight = null;
    return;
  }
  let body;
  try {
    body = JSON.stringify(result === undefined ? null : result);
  } catch (e) {
    await postError(`${BASE}/invocation/${requestId}/error`, new UserError('Runtime.MarshalError', `Unable to stringify response body: ${e.message}`));
    inflight = null;
    return;
  }
  await post(`${BASE}/invocation/${requestId}/response`, body);
  inflight = null;
}

async function crash(err, type) {
  const doc = toError(err);
  if (type) doc.errorType = type;
  try {
    if (inflight) {
      writeLog('ERROR', [`Unhandled ${type || 'Exception'} \t${JSON.stringify(doc)}`]);
      await post(`${BASE}/invocation/${inflight.requestId}/error`, JSON.stringify(doc), { 'Lambda-Runtime-Function-Error-Type': doc.errorType });
    }
  } finally {
    process.exit(129);
  }
}

process.on('uncaughtException', (e) => crash(e));
process.on('unhandledRejection', (e) => crash(e instanceof Error ? e : new Error(String(e)), 'Runtime.UnhandledPromiseRejection'));

async function main() {
  let handler;
  try {
    handler = await loadHandler(process.env._HANDLER || '');
  } catch (e) {
    const doc = toError(e);
    writeLog('ERROR', [`Uncaught Exception \t${JSON.stringify({ errorType: doc.errorType, errorMessage: doc.errorMessage, stack: doc.trace })}`]);
    await post(`${BASE}/init/error`, JSON.stringify(doc), { 'Lambda-Runtime-Function-Error-Type': doc.errorType }).catch(() => {});
    process.exit(1);
  }
  for (;;) {
    await invokeOnce(handler);
  }
}

main();
