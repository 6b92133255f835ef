// Training (#/learn): courses with their lessons and quiz, enrolling, completing lessons, taking
// the quiz (answers are checked by the server), and my qualifications with their expiry.
import { gql, nodes, session } from "../api.js";
import { errorText, fmtDay, t } from "../i18n.js";
import { html, page, useEffect, useState } from "../ui.js";

const COURSES = `query Courses($signedIn: Boolean!) {
  courses(first: 30) { edges { node { id title description qualification validityMonths team { name }
    lessons { id position title videoUrl materialUrl completedByMe @include(if: $signedIn) }
    assessment { id kind passScore questions { index text options } }
    myEnrollment @include(if: $signedIn) { id lessonsCompleted completedAt } } } }
  me @include(if: $signedIn) { id qualifications { name valid grantedAt expiresAt } } }`;
const ENROLL = `mutation Enroll($id: ID!) { enrollInCourse(courseId: $id) { id lessonsCompleted completedAt } }`;
const COMPLETE = `mutation CompleteLesson($id: ID!) { completeLesson(lessonId: $id) { id lessonsCompleted completedAt } }`;
const QUIZ = `mutation SubmitQuiz($id: ID!, $answers: [Int!]!) { submitQuiz(assessmentId: $id, answers: $answers) {
  passed score qualification { name expiresAt } } }`;

function Quiz({ assessment, onDone }) {
  const [result, setResult] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const form = event.target;
    const answers = assessment.questions.map((q) => Number(form.elements[`q${q.index}`].value));
    if (answers.some((a, i) => !form.elements[`q${assessment.questions[i].index}`].value)) {
      setResult({ error: t("answerAll") });
      return;
    }
    setBusy(true);
    try {
      const { submitQuiz } = await gql(QUIZ, { id: assessment.id, answers });
      setResult(submitQuiz);
      if (submitQuiz.passed) onDone();
    } catch (e) { setResult({ error: errorText(e) }); }
    setBusy(false);
  };
  return html`<form class="quiz" novalidate onSubmit=${submit}>
    ${assessment.questions.map((q) => html`<fieldset><legend>${q.index + 1}. ${q.text}</legend>
      ${q.options.map((o, i) => html`<div class="check"><input type="radio" id=${`q${assessment.id}-${q.index}-${i}`}
        name=${`q${q.index}`} value=${i} /><label for=${`q${assessment.id}-${q.index}-${i}`}>${o}</label></div>`)}</fieldset>`)}
    <p class="hint">${t("passScore", { n: assessment.passScore })}</p>
    <button class="primary" type="submit" disabled=${busy}>${t("submitQuiz")}</button>
    <p class=${result?.error || (result && !result.passed) ? "error" : "ok"} role="status" data-quiz-result>
      ${result?.error || (result ? (result.passed ? t("quizPassed", { score: result.score, q: result.qualification?.name || "" })
        : t("quizFailed", { score: result.score })) : "")}</p></form>`;
}

function CourseCard({ course, reload, held }) {
  const [message, setMessage] = useState("");
  const enrolled = course.myEnrollment;
  const act = (run) => async () => {
    try { await run(); await reload(); } catch (e) { setMessage(errorText(e)); }
  };
  const lessonsDone = course.lessons.every((l) => l.completedByMe);
  return html`<article class="card" data-course=${course.id}>
    <h2>${course.title}</h2>
    <p class="meta">${t("grants", { q: course.qualification })}${course.validityMonths ? ` · ${t("validMonths", { n: course.validityMonths })}` : ""}${course.team ? ` · ${course.team.name}` : ""}</p>
    <p class="prose">${course.description}</p>
    ${enrolled ? html`<p><span class="badge state">${held.has(course.qualification) ? t("courseDone") : t("enrolled")}</span></p>
      <ol class="lessons">${course.lessons.map((l) => html`<li data-lesson=${l.id}>${l.title}
        ${l.videoUrl ? html` · <a href=${l.videoUrl} rel="noopener" target="_blank">${t("video")}</a>` : null}
        ${l.materialUrl ? html` · <a href=${l.materialUrl} rel="noopener" target="_blank">${t("material")}</a>` : null}
        ${l.completedByMe ? html` <span class="ok">✓ ${t("lessonDone")}</span>`
          : html` <button type="button" data-action="complete" onClick=${act(() => gql(COMPLETE, { id: l.id }))}>${t("markLessonDone")}</button>`}</li>`)}</ol>
      ${course.assessment?.kind === "QUIZ" && lessonsDone && !held.has(course.qualification)
        ? html`<details class="panel"><summary>${t("takeQuiz")}</summary><${Quiz} assessment=${course.assessment} onDone=${reload} /></details>` : null}`
      : session.token ? html`<button class="primary" type="button" data-action="enroll" onClick=${act(() => gql(ENROLL, { id: course.id }))}>${t("enroll")}</button>`
        : html`<p><a href="#/login">${t("needLogin")}</a></p>`}
    <p class="error" role="status">${message}</p></article>`;
}

function LearnPage() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [stale, setStale] = useState("");
  // once shown, a failed reload keeps the page (and the quiz answers being picked) and says so
  const load = async () => {
    try { setData(await gql(COURSES, { signedIn: !!session.token })); setStale(""); }
    catch (e) { if (data) setStale(errorText(e)); else setError(e); }
  };
  useEffect(() => { load(); }, []);
  if (error) return html`<h1>${t("navLearn")}</h1><p class="error">${errorText(error)}</p>`;
  if (!data) return html`<h1>${t("navLearn")}</h1><p>${t("loading")}</p>`;
  const quals = data.me?.qualifications || [];
  const held = new Set(quals.filter((q) => q.valid).map((q) => q.name));
  return html`<h1>${t("navLearn")}</h1><p class="error" role="alert">${stale}</p>
    ${data.me ? html`<section class="panel" aria-labelledby="qual-h"><h2 id="qual-h">${t("myQualifications")}</h2>
      ${quals.length ? html`<ul class="plain quals">${quals.map((q) => html`<li data-valid=${q.valid}>${q.name} ·
        ${q.valid ? (q.expiresAt ? t("validUntil", { date: fmtDay(q.expiresAt) }) : t("noExpiry")) : t("expired")}</li>`)}</ul>`
        : html`<p>${t("noQualifications")}</p>`}</section>` : null}
    <section aria-labelledby="courses-h"><h2 id="courses-h" class="visually-hidden">${t("courses")}</h2>
      <div class="list">${nodes(data.courses).map((c) => html`<${CourseCard} key=${c.id} course=${c} reload=${load} held=${held} />`)}</div>
      ${nodes(data.courses).length ? null : html`<p>${t("empty")}</p>`}</section>`;
}

export function render(main) {
  return page(main, html`<${LearnPage} />`);
}
