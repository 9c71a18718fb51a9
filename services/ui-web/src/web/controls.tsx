/** Small form controls shared by the views. */

interface TextInputProps {
  readonly name: string;
  readonly label: string;
  readonly value: string;
  readonly onValue: (value: string) => void;
  readonly placeholder?: string;
  readonly type?: 'text' | 'search' | 'password' | 'datetime-local';
  readonly list?: string;
  readonly autoComplete?: string;
}

/** An input whose value lives in the caller's state, labelled for screen readers and tests. */
export function TextInput({
  name,
  label,
  value,
  onValue,
  placeholder,
  type = 'text',
  list,
  autoComplete,
}: TextInputProps) {
  return (
    <input
      type={type}
      name={name}
      aria-label={label}
      placeholder={placeholder}
      list={list}
      autoComplete={autoComplete}
      value={value}
      onInput={(e) => onValue(e.currentTarget.value)}
    />
  );
}

/** A table head from column titles (an empty title for a column of buttons or checkboxes). */
export function Head({ cols }: { cols: readonly string[] }) {
  return (
    <thead>
      <tr>
        {cols.map((c, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: titles may repeat ('' for unnamed columns)
          <th key={i}>{c}</th>
        ))}
      </tr>
    </thead>
  );
}
