// eslint for the scripts the app serves (crmkb/web/static/*.js): plain browser scripts with no build step,
// loaded by a <script> tag on any page, so no modules and no bundler globals. `make lint` runs it.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: [".venv/", ".data/", "build/", "test-artifacts/"] },
  js.configs.recommended,
  {
    files: ["crmkb/web/static/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "script", globals: globals.browser },
    rules: {
      eqeqeq: "error",
      "no-var": "error",
      "prefer-const": "error",
      strict: ["error", "function"],
    },
  },
  {
    files: ["eslint.config.js"],
    languageOptions: { sourceType: "module", globals: globals.node },
  },
];
