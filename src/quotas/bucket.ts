// A token bucket: `rate` tokens per second, at most `capacity`; time from an injected clock (ms).
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(public rate: number, public capacity: number, now: number) {
    this.tokens = capacity;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
    }
  }

  /** Whether a token is available now (without taking it). */
  available(now: number): boolean {
    this.refill(now);
    return this.tokens >= 1;
  }

  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Full and untouched for a while: safe to forget. */
  idle(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.capacity;
  }

  /** Changes the rate (the node count changed); keeps the tokens within the new capacity. */
  resize(rate: number, capacity: number, now: number): void {
    this.refill(now);
    this.rate = rate;
    this.capacity = capacity;
    this.tokens = Math.min(this.tokens, capacity);
  }
}
