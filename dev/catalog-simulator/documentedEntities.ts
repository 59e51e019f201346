import type { SeededRandom } from './random';

/**
 * Text for entities shaped as the catalog documentation describes them (shared/reference/catalog-api.md),
 * not as the compact entities most tests use: names in many scripts, descriptions that are HTML written
 * in a rich-text editor (paragraphs, links, lists, code, character references), pasted text that JSON must
 * escape (quotes, backslashes of Windows paths, CR LF, tabs, and control characters such as the ESC of a
 * pasted console colour, which a serializer writes as `\u001b`), and now and then a description of about
 * 200 KB (a whole notebook pasted in). A client's byte-level paths meet here what the real service sent.
 */

/** Share of documented entities whose description is about {@link LARGE_DESCRIPTION_BYTES}. */
export const LARGE_DESCRIPTION_RATE = 0.001;
export const LARGE_DESCRIPTION_BYTES = 200 * 1024;

export function documentedName(random: SeededRandom): string {
  const name = `${random.pick(NAME_HEADS)} ${random.pick(NAME_SUBJECTS)}${random.pick(NAME_TAILS)}`;
  return random.chance(0.1) ? `${name} — “${random.pick(NAME_QUOTES)}”` : name;
}

export function documentedSummary(random: SeededRandom): string {
  return `${random.pick(SENTENCES)} ${random.pick(SENTENCES)}`;
}

/** An HTML description of half a kilobyte to two, or (rarely) about 200 KB. */
export function documentedDescription(random: SeededRandom): string {
  const large = random.chance(LARGE_DESCRIPTION_RATE);
  const target = large ? LARGE_DESCRIPTION_BYTES : random.intBetween(500, 2000);
  const parts: string[] = [`<h2>${random.pick(NAME_SUBJECTS)}</h2>`];
  let length = parts[0]!.length;
  while (length < target) {
    const part = documentedBlock(random);
    parts.push(part);
    length += part.length;
  }
  return parts.join(random.chance(0.5) ? '\r\n' : '\n');
}

function documentedBlock(random: SeededRandom): string {
  switch (random.int(6)) {
    case 0:
      return `<p>${random.pick(SENTENCES)} ${random.pick(SENTENCES)} <a href="${random.pick(LINKS)}" target="_blank">${random.pick(LINK_TEXTS)}</a>.</p>`;
    case 1:
      return `<ul>${Array.from({ length: random.intBetween(2, 5) }, () => `<li>${random.pick(SENTENCES)}</li>`).join('')}</ul>`;
    case 2:
      return `<pre><code>${random.pick(CODE)}</code></pre>`;
    case 3:
      return `<p><strong>${random.pick(NAME_HEADS)}</strong> &amp; <em>${random.pick(NAME_SUBJECTS)}</em>: ${random.pick(SENTENCES)}</p>`;
    case 4:
      return `<table><tr><th>metric</th><th>value</th></tr><tr><td>AUC</td><td>0.${random.intBetween(600, 999)}</td></tr><tr><td>F1 &gt; 0.5</td><td>${random.pick(['yes', 'non', 'はい', 'ναι'])}</td></tr></table>`;
    default:
      return `<p>${random.pick(PASTED)}</p>`;
  }
}

const NAME_HEADS = [
  'Predicting',
  'Forecasting',
  'Détection de fraude:',
  'Análisis de',
  'Klassifikation von',
  'Прогноз',
  '需要予測:',
  'Εκτίμηση',
  'تحليل',
  'Scoring',
];

const NAME_SUBJECTS = [
  'Flight Delays',
  'Customer Churn in Telco',
  'Café Revenue in Zürich',
  '機械学習による需要予測',
  '数据科学 案例',
  'Ελληνικά κείμενα',
  'русский текст',
  'Retail "Basket" Analysis',
  'C:\\Data\\train.csv Imports',
  'Wine Quality 🍷',
  'Śląsk Energy Demand',
  'Résumé Screening (NLP)',
  'עברית ותחזיות',
];

const NAME_TAILS = ['', '', ' with R', ' (Python 3)', ' – Part 2', ': A Tutorial', ' 📈', ' in F# & C#'];

const NAME_QUOTES = ['best model', 'état de l’art', 'v2', '最新'];

const SENTENCES = [
  'Trains a model on historical data and publishes it as a web service.',
  'Uses the "Tune Model Hyperparameters" module to sweep the parameter space.',
  'Shows how to read a CSV file from C:\\Users\\public\\data.csv and clean it.',
  'Compare algorithms side by side\tand pick the best one.',
  'Données nettoyées, modèle entraîné, résultats expliqués à l’équipe.',
  '本实验演示如何使用回归模型预测需求。',
  'この実験では分類モデルを作成し、精度を評価します。',
  'Feature engineering for time series ⏱️ and seasonality.',
  'Ein Modell für die Vorhersage des Energiebedarfs in Süddeutschland.',
  'Модель обучена на данных за пять лет и проверена на отложенной выборке.',
  'Το μοντέλο εκπαιδεύεται σε ιστορικά δεδομένα.',
  'A paragraph with a line separator\u2028inside it.',
  'Emoji in text: 🤖✨🔥 — and an em dash.',
  'Scores above 0.8 & below 0.95 are flagged; see the “Evaluate Model” output.',
];

const LINKS = [
  'https://gallery.cortanaintelligence.com/Experiment/Flight-Delay-Prediction-1',
  'https://docs.microsoft.com/azure/machine-learning/studio/what-is-ml-studio?view=classic&amp;lang=fr',
  'https://github.com/Azure/Azure-MachineLearning-DataScience/blob/master/Misc/README.md',
  'https://msdn.microsoft.com/library/azure/dn905865.aspx#remarks',
];

const LINK_TEXTS = ['the documentation', 'la documentation', 'ドキュメント', 'this notebook', 'Quelle'];

const CODE = [
  'import pandas as pd\ndf = pd.read_csv("C:\\\\data\\\\train.csv")\nprint(df.describe())',
  'library(caret)\nfit &lt;- train(y ~ ., data = d, method = "rf")\n# “random forest”',
  "SELECT TOP 10 * FROM [dbo].[Sales] WHERE [Region] = N'Zürich'",
  'def score(x):\n\treturn model.predict(x)  # returns 0 or 1',
];

const PASTED = [
  'Output of the run:\r\n\u001b[32mPASSED\u001b[0m 42 tests in 3.1 s\r\n\u001b[31mFAILED\u001b[0m 0',
  'Copied from Word:\u000bline two\u000cpage break\u0007bell',
  'Path: \\\\server\\share\\models\\v2\\model.ilearner — size 12 MB',
  'Regex used: ^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}$ (ISO dates) and "quoted \\"inner\\" text"',
];
