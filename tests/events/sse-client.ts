// A small Server-Sent Events reader over a fetch Response, for tests: frames in, parsed messages out.

export interface SseMessage {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

export interface SseReader {
  /** Reads until `count` messages arrived (comments are collected separately); fails after `limitMs`. */
  take(count: number, limitMs?: number): Promise<SseMessage[]>;
  comments: string[];
  /** Drops the connection, as a client whose network failed. */
  drop(): Promise<void>;
}

export function sseReader(response: Response): SseReader {
  if (!response.body) throw new Error('response has no body');
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const queue: SseMessage[] = [];
  const comments: string[] = [];
  // A read left pending by a timeout is kept, so no chunk is lost.
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;

  function parse(): void {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end < 0) return;
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let id: string | undefined;
      let event: string | undefined;
      const data: string[] = [];
      for (const line of frame.split('\n')) {
        if (line.startsWith(':')) comments.push(line.slice(1).trim());
        else if (line.startsWith('id:')) id = line.slice(3).trim();
        else if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length > 0) queue.push({ id, event, data: data.join('\n') });
    }
  }

  return {
    comments,
    async take(count, limitMs = 10_000) {
      const deadline = Date.now() + limitMs;
      while (queue.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`expected ${count} SSE messages, got ${queue.length}`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), left);
        });
        pending ??= reader.read();
        const chunk = await Promise.race([pending, timeout]);
        clearTimeout(timer);
        if (chunk === 'timeout') continue;
        pending = undefined;
        if (chunk.done) throw new Error(`stream ended after ${queue.length} of ${count} messages`);
        buffer += decoder.decode(chunk.value, { stream: true });
        parse();
      }
      return queue.splice(0, count);
    },
    async drop() {
      await reader.cancel();
    },
  };
}
