/** subscribe and unsubscribe: which `event` types this connection receives. */
import type { HandlerTable } from '../../protocol/index.js';

export function subscribeHandlers(): HandlerTable {
  return {
    subscribe: ({ events }, conn) => {
      for (const type of events) conn.subscriptions.add(type);
      return { subscribed: [...conn.subscriptions] };
    },
    unsubscribe: ({ events }, conn) => {
      for (const type of events) {
        if (type === '*') conn.subscriptions.clear();
        else conn.subscriptions.delete(type);
      }
      return { subscribed: [...conn.subscriptions] };
    },
  };
}
