"""The pages' one stylesheet, served from /web/style.css so that the CSP can stay 'self'."""

STYLESHEET = """
:root { color-scheme: light; --ink: #1d2a33; --muted: #5a6872; --line: #d5dde2;
  --accent: #005eb8; --warn: #8a4b00; --warn-bg: #fff4e0; --ok-bg: #e8f5ec; --bad: #a4000f; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: var(--ink); background: #f6f8f9; }
header { background: var(--accent); color: #fff; padding: .6rem 1.5rem; display: flex;
  gap: 1.5rem; align-items: center; flex-wrap: wrap; }
header a { color: #fff; }
header .who { margin-left: auto; }
header form { display: inline; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.6rem; margin: .8rem 0; }
h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; vertical-align: top; padding: .45rem .6rem;
  border-bottom: 1px solid var(--line); }
th { font-size: .85rem; color: var(--muted); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; }
dt { color: var(--muted); }
dd { margin: 0; }
.flash { background: var(--ok-bg); border-left: 4px solid #007f3b; padding: .6rem 1rem; }
.error { background: #fde8ea; border-left: 4px solid var(--bad); padding: .6rem 1rem; }
.due { color: var(--warn); background: var(--warn-bg); padding: 0 .3rem; font-weight: 600; }
.pending { color: var(--warn); font-weight: 600; }
.card { background: #fff; border: 1px solid var(--line); padding: 1rem 1.2rem;
  margin: 1rem 0; }
label { display: block; margin: .6rem 0 .2rem; font-weight: 600; }
input[type=text], input[type=password], textarea, select { width: 100%; max-width: 28rem;
  padding: .4rem; font: inherit; border: 1px solid #8a979f; }
textarea { min-height: 5rem; }
button { margin-top: .8rem; padding: .45rem 1.1rem; font: inherit; color: #fff;
  background: var(--accent); border: 0; cursor: pointer; }
header button { margin: 0; background: transparent; border: 1px solid #fff; padding: .1rem .6rem; }
.muted { color: var(--muted); }
fieldset.choice { border: 0; padding: 0; margin: .6rem 0 0; }
fieldset.choice legend { font-weight: 600; padding: 0; }
fieldset.choice label { font-weight: normal; margin: .2rem 0; }
figure.chart { margin: 1rem 0; }
figure.chart svg { max-width: 100%; height: auto; background: #fff; }
figure.chart figcaption { font-size: .9rem; margin-top: .3rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
.live { font-size: .9rem; color: var(--muted); }
.live.stale { color: var(--bad); background: #fde8ea; padding: .3rem .6rem; font-weight: 600; }
.duty-list { list-style: none; padding: 0; margin: 0; font-size: .9rem; line-height: 1.35; }
.duty-item { background: #fff; border: 1px solid var(--line); border-left: 6px solid var(--line);
  padding: .15rem .8rem .2rem; margin: .25rem 0; }
.duty-item.overdue { border-left-color: var(--bad); }
.duty-item.escalation { background: #fffafa; }
.duty-item.arrived { animation: arrived 4s ease-out; }
@keyframes arrived { from { background: var(--warn-bg); } }
.duty-head { display: flex; flex-wrap: wrap; gap: 0 .8rem; align-items: baseline; margin: 0; }
.duty-head .tag { text-transform: uppercase; font-size: .8rem; letter-spacing: .04em; }
.duty-item.escalation > .duty-head .tag { color: var(--bad); font-weight: 600; }
.duty-head .urgency { font-weight: 600; }
.duty-head abbr { text-decoration: none; }
.duty-item.emergency .urgency { color: var(--bad); }
.countdown { margin-left: auto; font-weight: 600; }
.overdue > .duty-head .countdown, .duty-alert.overdue > .countdown { color: var(--bad); }
.duty-row { display: flex; flex-wrap: wrap; gap: 0 1rem; align-items: baseline; }
.duty-facts { display: flex; flex-wrap: wrap; gap: 0 .4rem; margin: 0; flex: 1 1 30rem; }
.duty-facts dt::after { content: ":"; }
.duty-facts dd + dt::before { content: "·"; margin-right: .4rem; color: var(--muted); }
.duty-alert { border-top: 1px dashed var(--line); margin-top: .15rem; }
.duty-alert .countdown { margin-left: 0; }
.duty-ack-fold summary { cursor: pointer; color: var(--accent); font-weight: 600; }
.duty-ack-fold[open] { flex-basis: 100%; }
.duty-ack { display: flex; flex-wrap: wrap; gap: 0 1rem; align-items: flex-end;
  padding-bottom: .4rem; }
.duty-ack label { margin-top: .3rem; font-size: .85rem; }
.duty-ack .wide { flex: 1 1 16rem; }
.duty-ack textarea { min-height: 2.4rem; }
.duty-empty { padding: 1rem 0; }
"""
