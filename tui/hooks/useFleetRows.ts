/** Starts the fleet (reconciling the registry first) and keeps the state's rows in step with it. */
import { useEffect } from 'react';
import { errorMessage } from '../../src/errors.js';
import { useFleet, useTuiActions } from '../state/context.js';

export function useFleetRows(): void {
  const fleet = useFleet();
  const { dispatch } = useTuiActions();
  useEffect(() => {
    let live = true;
    const update = (): void => {
      if (live) dispatch({ type: 'rows', rows: fleet.rows() });
    };
    const problem = (text: string): void => {
      if (live) dispatch({ type: 'notice', notice: { kind: 'error', text } });
    };
    fleet.on('change', update);
    fleet.on('problem', problem);
    // Coming back from an attach, the fleet is already running: its rows are there at once.
    const first = !fleet.started;
    fleet.start().then(
      (report) => {
        update();
        if (!live) return;
        dispatch({ type: 'ready' });
        if (first && report.crashed.length > 0) {
          const names = report.crashed.map((s) => s.task).join(', ');
          dispatch({
            type: 'notice',
            notice: { kind: 'info', text: `marked crashed (runner gone): ${names}` },
          });
        }
      },
      (err: unknown) => problem(`cannot read the registry: ${errorMessage(err)}`),
    );
    return () => {
      live = false;
      fleet.off('change', update);
      fleet.off('problem', problem);
    };
  }, [fleet, dispatch]);
}
