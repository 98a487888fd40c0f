// Preloaded into a receiver process (NODE_OPTIONS=--require) to step its wall clock, as NTP or an
// operator would: Date.now() and new Date() are shifted by the number of ms written in CLOCK_FILE,
// in every thread (a worker thread inherits --require). performance.now() is left alone: it is the
// monotonic clock that in-process timing must use.
const { readFileSync } = require('node:fs');

const file = process.env.CLOCK_FILE;
if (file) {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  let offset = 0;
  let readAt = -Infinity;
  const shift = () => {
    const at = performance.now();
    if (at - readAt > 20) {
      readAt = at;
      try {
        offset = Number(readFileSync(file, 'utf8')) || 0;
      } catch {
        offset = 0;
      }
    }
    return offset;
  };
  class ShiftedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(realNow() + shift());
      else super(...args);
    }
    static now() {
      return realNow() + shift();
    }
  }
  globalThis.Date = ShiftedDate;
}
