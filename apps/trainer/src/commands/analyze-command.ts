/** `bmp-train analyze <run-dir>`: the local-Hessian report of a checkpoint (analysis.json). */
import { type Command, Option } from 'commander';
import type { AnalyzeProgress } from '../analyze';
import { ANALYZE_DEFAULTS as D } from '../analyze-defaults';
import { BACKEND_CHOICES, type TrainSettings } from '../config';
import { blockList, integer, nonNegativeInt, positiveInt } from './parsers';
import type { Opts } from './run-options';

export function addAnalyzeCommand(
  program: Command,
  action: (runDir: string, opts: Opts) => Promise<void>,
): Command {
  return program
    .command('analyze')
    .description(
      "local Hessians of a run's checkpoint, block by block: spectra, condition numbers, Marchenko-Pastur, eq. (24) scalars (writes analysis.json)",
    )
    .helpOption('-h, --help', 'show the flags of analyze')
    .argument('<run-dir>', 'a run directory (with config.json and checkpoints/)')
    .option('--checkpoint <dir>', 'checkpoint directory to analyse (default: the latest of the run)')
    .option('--out <file>', 'report file (default <run-dir>/analysis.json)')
    .option(
      '--batch-size <n>',
      `images of the analysed batch of training data (default ${D.batchSize})`,
      positiveInt,
    )
    .option('--seed <n>', `picks the batch; seeds Lanczos and Hutchinson (default ${D.seed})`, integer)
    .option(
      '--max-dense-dim <n>',
      `every eigenvalue up to this dimension, Lanczos extremes and an SLQ density above (default ${D.maxDenseDim})`,
      positiveInt,
    )
    .option('--lanczos-k <n>', `Lanczos: eigenvalues at each end (default ${D.lanczosK})`, positiveInt)
    .option('--lanczos-steps <n>', `Lanczos: most products (default ${D.lanczosSteps})`, positiveInt)
    .option(
      '--trace-probes <n>',
      `Hutchinson probes for trace/dim above --max-dense-dim (default ${D.traceProbes})`,
      positiveInt,
    )
    .option(
      '--slq-probes <n>',
      `SLQ density: probes, the first being the Lanczos run of the extremes; 0 for none (default ${D.slqProbes})`,
      nonNegativeInt,
    )
    .option(
      '--slq-steps <n>',
      `SLQ density: Lanczos steps of each further probe (default ${D.slqSteps})`,
      positiveInt,
    )
    .option('--blocks <names>', 'comma-separated block names (default: every block)', blockList)
    .option('--no-claims', "skip the paper's claims checks (runPaperClaims of @bmp/backmatching)")
    .addOption(
      new Option(
        '--backend <name>',
        'tfjs backend (default auto; the forward pass is checked against the model)',
      ).choices(BACKEND_CHOICES),
    )
    .option('--json', 'progress as JSON lines on stdout')
    .action(action);
}

function progressLine(e: AnalyzeProgress): string {
  switch (e.type) {
    case 'start':
      return `analyze ${e.runDir}: checkpoint ${e.checkpoint}, ${e.blocks.length} block(s), batch of ${e.batchSize}, backend ${e.backend}`;
    case 'block':
      return `[${e.index + 1}/${e.count}] ${e.name}: ${e.summary} (${e.seconds.toFixed(1)} s)`;
    case 'claims':
      return `claims: ${e.text}`;
    case 'done':
      return `analysis written to ${e.out} (${e.seconds.toFixed(1)} s)`;
  }
}

export async function analyzeAction(runDir: string, opts: Opts): Promise<void> {
  const json = Boolean(opts.json);
  // loaded on demand: train and compare do not need @bmp/backmatching
  const { analyze } = await import('../analyze');
  const { report, out } = await analyze({
    runDir,
    checkpoint: opts.checkpoint as string | undefined,
    out: opts.out as string | undefined,
    batchSize: opts.batchSize as number | undefined,
    seed: opts.seed as number | undefined,
    maxDenseDim: opts.maxDenseDim as number | undefined,
    lanczosK: opts.lanczosK as number | undefined,
    lanczosSteps: opts.lanczosSteps as number | undefined,
    traceProbes: opts.traceProbes as number | undefined,
    slqProbes: opts.slqProbes as number | undefined,
    slqSteps: opts.slqSteps as number | undefined,
    blocks: opts.blocks as string[] | undefined,
    claims: opts.claims as boolean,
    backend: opts.backend as TrainSettings['backend'] | undefined,
    onProgress: (e) => process.stdout.write(`${json ? JSON.stringify(e) : progressLine(e)}\n`),
  });
  if (json) return;
  const failed = report.claims.filter((c) => !c.passed);
  if (report.claims.length > 0)
    process.stdout.write(
      `paper claims: ${report.claims.length - failed.length}/${report.claims.length} passed${failed.length ? ` (failed: ${failed.map((c) => c.name).join(', ')})` : ''}\n`,
    );
  process.stdout.write(`report: ${out}\n`);
}
