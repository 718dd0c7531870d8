/**
 * The whole screen: header, loop list, detail pane, footer. Sizes follow the terminal: the list takes up to a
 * third of the height (at least room for a few loops), the detail pane the rest.
 */
import { Box } from 'ink';
import type { ReactNode } from 'react';
import { useClock } from '../hooks/useClock.js';
import { useDetail } from '../hooks/useDetail.js';
import { useFleetRows } from '../hooks/useFleetRows.js';
import { useKeys } from '../hooks/useKeys.js';
import { useTerminalSize } from '../hooks/useTerminalSize.js';
import { selectedRow, visibleRows } from '../state/reducer.js';
import { useTuiState } from '../state/context.js';
import { DetailPane } from './DetailPane.js';
import { Footer } from './Footer.js';
import { Header } from './Header.js';
import { HelpScreen } from './HelpScreen.js';
import { LoopList } from './LoopList.js';

export function Layout(): ReactNode {
  useFleetRows();
  const state = useTuiState();
  const { columns, rows: height } = useTerminalSize();
  const rows = visibleRows(state);
  const row = selectedRow(state);
  const locations = ['local', ...new Set(state.rows.map((r) => r.location).filter((l) => l !== 'local'))];
  useKeys(locations);
  const now = useClock();
  const { detail, loading } = useDetail(row);
  const width = Math.max(20, columns);
  const body = Math.max(6, height - 3);
  const listHeight = Math.max(4, Math.min(rows.length + 1, Math.floor(body / 3)));
  return (
    <Box flexDirection="column" width={width} height={Math.max(9, height)}>
      <Header rows={state.rows} filter={state.filter} width={width} />
      {state.mode.kind === 'help' ? (
        <HelpScreen width={width} height={body} />
      ) : (
        <>
          <LoopList
            rows={rows}
            selectedKey={row?.key ?? null}
            width={width}
            height={listHeight}
            now={now}
            color={state.color}
            ready={state.ready}
            filter={state.filter}
            total={state.rows.length}
          />
          <DetailPane
            row={row}
            detail={detail}
            loading={loading}
            tab={state.tab}
            scroll={state.scroll}
            width={width}
            height={body - listHeight}
            color={state.color}
          />
        </>
      )}
      <Footer
        mode={state.mode}
        notice={state.notice}
        width={width}
        color={state.color}
        locations={locations}
      />
    </Box>
  );
}
