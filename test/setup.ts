// Jest runs each file in a fresh vm context, which on Node 20 lacks Symbol.dispose; Node's own
// symbols are the registered ones below, so tensors from either realm agree.
const symbols = Symbol as unknown as { dispose?: symbol; asyncDispose?: symbol };
symbols.dispose ??= Symbol.for('nodejs.dispose');
symbols.asyncDispose ??= Symbol.for('nodejs.asyncDispose');
