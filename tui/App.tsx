/** The fleet view: the providers around the layout, nothing else. */
import type { ReactNode } from 'react';
import { Layout } from './components/Layout.js';
import { TuiProvider, type TuiProviderProps } from './state/context.js';

export type AppProps = Omit<TuiProviderProps, 'children'>;

export function App(props: AppProps): ReactNode {
  return (
    <TuiProvider {...props}>
      <Layout />
    </TuiProvider>
  );
}
