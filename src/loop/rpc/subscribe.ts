/** subscribe and unsubscribe: which `event` types this connection receives. */
import type { HandlerTable } from '../../protocol/index.js';
import type { LoopServer } from './server.js';

export function subscribeHandlers(server: LoopServer): HandlerTable {
  return {
    subscribe: ({ events }, conn) => {
      for (const type of events) conn.subscriptions.add(type);
      server.subscriptionsChanged();
      return { subscribed: [...conn.subscriptions] };
    },
    unsubscribe: ({ events }, conn) => {
      for (const type of events) {
        if (type === '*') conn.subscriptions.clear();
        else conn.subscriptions.delete(type);
      }
      server.subscriptionsChanged();
      return { subscribed: [...conn.subscriptions] };
    },
  };
}
