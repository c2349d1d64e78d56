import { describe, expect, it } from 'vitest';
import { DESTINATIONS, matchDestination, ollamaComPath } from '../../src/knowledge/destinations.js';
import { apiEndpoint, runnerPath } from '../../src/knowledge/api-endpoints.js';
import { processRole } from '../../src/knowledge/processes.js';
import { isDnsPort, OLLAMA_API_PORT } from '../../src/knowledge/ports.js';
import { registryRequest } from '../../src/knowledge/registry-paths.js';
import { hostWithoutPort } from '../../src/knowledge/hostname.js';
import { isCloudModel, isValidModelName, modelFieldsFor } from '../../src/knowledge/model-names.js';

describe('matchDestination', () => {
  it('matches exact names case-insensitively and ignores one trailing dot', () => {
    expect(matchDestination('registry.ollama.ai')?.activity).toBe('registry');
    expect(matchDestination('REGISTRY.Ollama.AI')?.activity).toBe('registry');
    expect(matchDestination('registry.ollama.ai.')?.activity).toBe('registry');
    expect(matchDestination('ollama.com')?.pattern).toBe('ollama.com');
  });

  it('does not match names that only share a prefix or suffix string', () => {
    expect(matchDestination('registry.ollama.ai.evil.net')).toBeNull();
    expect(matchDestination('notollama.com')).toBeNull();
    expect(matchDestination('example.com')).toBeNull();
    expect(matchDestination('')).toBeNull();
    expect(matchDestination('.')).toBeNull();
  });

  it('matches suffix patterns only on a label boundary and only with a label in front', () => {
    const seen = 'dd20bb891979d25aebc8bec07b2b3bbc.r2.cloudflarestorage.com';
    expect(matchDestination(seen)?.activity).toBe('blob-download');
    expect(matchDestination('a.b.r2.cloudflarestorage.com')?.activity).toBe('blob-download');
    expect(matchDestination('X.R2.CloudflareStorage.com.')?.activity).toBe('blob-download');
    expect(matchDestination('r2.cloudflarestorage.com')).toBeNull();
    expect(matchDestination('evilr2.cloudflarestorage.com')).toBeNull();
    expect(matchDestination('x.r2.cloudflarestorage.com.evil')).toBeNull();
  });

  it('prefers the exact entry over a wildcard of the same domain', () => {
    expect(matchDestination('registry.ollama.ai')?.pattern).toBe('registry.ollama.ai');
    expect(matchDestination('files.ollama.ai')?.pattern).toBe('*.ollama.ai');
  });

  it('keeps the claimed-in-the-wild host, marked as unsupported', () => {
    const d = matchDestination('api.ollama.ai');
    expect(d?.pattern).toBe('api.ollama.ai');
    expect(d?.supported).toBe(false);
    expect(d?.source).toMatch(/^\[claim\]/);
  });

  it('gives every entry a source citation and a since field', () => {
    for (const d of DESTINATIONS) {
      expect(d.source).toMatch(/^\[(src|issue|inferred|claim)\]/);
      expect(d).toHaveProperty('since');
    }
  });
});

describe('ollama.com paths', () => {
  it('names the update check despite its query string', () => {
    const p = ollamaComPath('/api/update?os=darwin&arch=arm64&version=0.9.0&ts=1&nonce=x');
    expect(p?.route).toBe('/api/update');
    expect(p?.by).toBe('app');
  });
  it('reads absolute-form proxy targets and prefix routes', () => {
    expect(ollamaComPath('http://ollama.com/api/experimental/model-recommendations')?.since).toBe('v0.22.1');
    expect(ollamaComPath('/v1/chat/completions')?.route).toBe('/v1/*');
    expect(ollamaComPath('/api/user/keys/ssh-ed25519%20AAAA')?.route).toBe('/api/user/keys/:key');
    expect(ollamaComPath('/api/unknown')).toBeNull();
  });
});

describe('apiEndpoint', () => {
  it('strips the query string and maps parametric routes', () => {
    expect(apiEndpoint('/api/pull')?.outbound).toBe('always');
    expect(apiEndpoint('/api/pull?stream=false')?.route).toBe('/api/pull');
    const digest = 'sha256:' + 'ab'.repeat(32);
    expect(apiEndpoint(`/api/blobs/${digest}`)?.route).toBe('/api/blobs/:digest');
    expect(apiEndpoint('/v1/models/llama3:8b')?.route).toBe('/v1/models/:model');
    expect(apiEndpoint('/v1/models')?.route).toBe('/v1/models');
  });
  it('rejects empty parameters, extra segments and unknown paths', () => {
    expect(apiEndpoint('/api/blobs/')).toBeNull();
    expect(apiEndpoint('/api/pull/extra')).toBeNull();
    expect(apiEndpoint('/wp-login.php')).toBeNull();
  });
  it('says which calls go out', () => {
    expect(apiEndpoint('/api/tags')?.outbound).toBe('none-known');
    expect(apiEndpoint('/api/chat')?.outbound).toBe('cloud-model');
    expect(apiEndpoint('/api/me')?.outboundTo).toBe('ollama.com');
    expect(apiEndpoint('/api/experimental/web_search')?.outbound).toBe('always');
    expect(apiEndpoint('/api/push')?.outboundTo).toBe('registry.ollama.ai');
  });
  it('knows runner endpoints', () => {
    expect(runnerPath('/completion')?.route).toBe('/completion');
    expect(runnerPath('/health?x=1')?.route).toBe('/health');
    expect(runnerPath('/api/chat')).toBeNull();
  });
});

describe('registryRequest', () => {
  it('reads manifests, blobs, uploads and the base path', () => {
    expect(registryRequest('/v2/library/llama3/manifests/latest')).toEqual({
      kind: 'manifest', name: 'library/llama3', reference: 'latest',
    });
    const digest = 'sha256:' + '0f'.repeat(32);
    expect(registryRequest(`/v2/library/llama3/blobs/${digest}`)).toEqual({
      kind: 'blob', name: 'library/llama3', reference: digest,
    });
    expect(registryRequest('/v2/me/m/blobs/uploads/?digest=x')?.kind).toBe('blob-upload');
    expect(registryRequest('/v2/')?.kind).toBe('base');
    expect(registryRequest('/api/pull')).toBeNull();
    expect(registryRequest('/v2/library/llama3')).toBeNull();
  });
});

describe('processRole', () => {
  it('tells server, runner, cli apart by subcommand', () => {
    expect(processRole('ollama', ['ollama', 'serve'])).toBe('server');
    expect(processRole('ollama', 'ollama\0runner\0--ollama-engine\0--model\0/m\0--port\x0040000\0')).toBe('runner');
    expect(processRole('ollama', 'ollama runner --mlx-engine')).toBe('runner');
    expect(processRole('ollama', ['ollama', 'run', 'llama3'])).toBe('cli');
    expect(processRole('ollama', ['ollama', 'gpu-discover'])).toBe('runner');
  });
  it('guesses server for a bare ollama without a cmdline', () => {
    expect(processRole('ollama')).toBe('server');
  });
  it('knows runner children by name, including the 15-byte truncated comm', () => {
    expect(processRole('llama-server', 'llama-server --model /b --port 41234 --host 127.0.0.1')).toBe('runner');
    expect(processRole('llama-quantize')).toBe('runner');
    expect(processRole('ollama_llama_server')).toBe('runner');
    expect(processRole('ollama_llama_se')).toBe('runner');
  });
  it('knows the desktop apps and accepts paths', () => {
    expect(processRole('ollama app.exe')).toBe('app');
    expect(processRole('C:\\Users\\me\\AppData\\Local\\Programs\\Ollama\\ollama app.exe')).toBe('app');
    expect(processRole('/Applications/Ollama.app/Contents/MacOS/Ollama')).toBe('app');
    expect(processRole('/usr/local/bin/ollama', ['/usr/local/bin/ollama', 'serve'])).toBe('server');
  });
  it('returns null outside the tree', () => {
    expect(processRole('curl')).toBeNull();
    expect(processRole('ollamax')).toBeNull();
    expect(processRole('llama')).toBeNull();
    expect(processRole('')).toBeNull();
    // A different 15-character comm must not match by prefix of a longer name.
    expect(processRole('ollama_llama_sx')).toBeNull();
  });
});

describe('ports', () => {
  it('knows the API and DNS ports', () => {
    expect(OLLAMA_API_PORT).toBe(11434);
    expect([53, 5353, 5355].every(isDnsPort)).toBe(true);
    expect(isDnsPort(853)).toBe(false);
  });
});

describe('hostWithoutPort', () => {
  it('drops ports and IPv6 brackets', () => {
    expect(hostWithoutPort('ollama.com:443')).toBe('ollama.com');
    expect(hostWithoutPort('[::1]:11434')).toBe('::1');
    expect(hostWithoutPort('::1')).toBe('::1');
    expect(hostWithoutPort('localhost')).toBe('localhost');
  });
});

describe('model names in API requests', () => {
  it('reads the model of the model routes on the API port only, with `name` where the route takes it', () => {
    expect(modelFieldsFor(OLLAMA_API_PORT, '/api/chat')).toEqual(['model']);
    expect(modelFieldsFor(OLLAMA_API_PORT, '/v1/chat/completions?x=1')).toEqual(['model']);
    expect(modelFieldsFor(OLLAMA_API_PORT, '/api/pull')).toEqual(['model', 'name']);
    expect(modelFieldsFor(OLLAMA_API_PORT, '/api/delete')).toEqual(['model', 'name']);
    // Copy names source/destination; a transcription is a multipart form; tags has no body.
    for (const route of ['/api/copy', '/v1/audio/transcriptions', '/api/tags', '/nope']) expect(modelFieldsFor(OLLAMA_API_PORT, route), route).toBeNull();
    expect(modelFieldsFor(8080, '/api/chat')).toBeNull();
  });

  it('tells cloud models by their :cloud / -cloud tag, and validates names', () => {
    for (const m of ['gpt-oss:120b-cloud', 'kimi-k2:1t-cloud', 'deepseek-v3.1:671b-CLOUD', 'qwen3-coder:cloud']) expect(isCloudModel(m), m).toBe(true);
    for (const m of ['llama3.2', 'cloud', 'cloudy:7b', 'soundcloud-model:latest']) expect(isCloudModel(m), m).toBe(false);
    expect(isValidModelName('registry.ollama.ai/library/llama3.2:3b')).toBe(true);
    for (const m of ['', ':tag', '/x', 'a b', 'a\u0000', 'é', 'x'.repeat(257)]) expect(isValidModelName(m), m).toBe(false);
  });
});
